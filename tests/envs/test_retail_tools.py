"""Retail tools on a hand-written tau-bench-layout database: state changes and error messages."""

import json

import pytest

from selfchallenge_jax import envs


@pytest.fixture
def env(retail_dir):
  return envs.make("retail", data_dir=retail_dir)


def call(env, name, **arguments):
  return env.call_tool(name, arguments)


def test_tool_set_matches_tau_bench(env):
  names = [t["function"]["name"] for t in env.tools]
  assert names == sorted([
      "calculate", "cancel_pending_order", "exchange_delivered_order_items",
      "find_user_id_by_email", "find_user_id_by_name_zip", "get_order_details",
      "get_product_details", "get_user_details", "list_all_product_types",
      "modify_pending_order_address", "modify_pending_order_items",
      "modify_pending_order_payment", "modify_user_address", "return_delivered_order_items",
      "think", "transfer_to_human_agents"])
  assert "Authenticate first" in env.system_prompt


def test_lookups(env):
  assert call(env, "find_user_id_by_email", email="ANN.LEE@example.com") == "ann_lee_1"
  assert call(env, "find_user_id_by_email", email="nobody@example.com") == "Error: user not found"
  assert call(env, "find_user_id_by_name_zip", first_name="ann", last_name="LEE", zip="78701") == "ann_lee_1"
  assert call(env, "find_user_id_by_name_zip", first_name="Ann", last_name="Lee", zip="00000") == "Error: user not found"
  assert json.loads(call(env, "get_user_details", user_id="ann_lee_1"))["orders"] == ["#W1", "#W2", "#W3"]
  assert call(env, "get_user_details", user_id="x") == "Error: user not found"
  assert json.loads(call(env, "get_order_details", order_id="#W2"))["status"] == "delivered"
  assert call(env, "get_order_details", order_id="W2") == "Error: order not found"
  assert call(env, "get_product_details", product_id="1001") == "Error: product not found"
  assert json.loads(call(env, "list_all_product_types")) == {"Desk Lamp": "200", "T-Shirt": "100"}
  assert list(json.loads(call(env, "list_all_product_types"))) == ["Desk Lamp", "T-Shirt"]


def test_cancel_refunds_gift_card_at_once(env):
  order = json.loads(call(env, "cancel_pending_order", order_id="#W1", reason="no longer needed"))
  assert order["status"] == "cancelled" and order["cancel_reason"] == "no longer needed"
  assert order["payment_history"][-1] == {"transaction_type": "refund", "amount": 40.0,
                                          "payment_method_id": "gift_card_1"}
  assert env.state()["users"]["ann_lee_1"]["payment_methods"]["gift_card_1"]["balance"] == 50.0


def test_cancel_errors_leave_database_unchanged(env):
  before = env.state()
  assert call(env, "cancel_pending_order", order_id="#W2", reason="no longer needed") == \
      "Error: non-pending order cannot be cancelled"
  assert call(env, "cancel_pending_order", order_id="#W1", reason="too expensive") == "Error: invalid reason"
  assert call(env, "cancel_pending_order", order_id="#W9", reason="ordered by mistake") == "Error: order not found"
  assert env.state() == before


def test_modify_address_and_user_address(env):
  address = dict(address1="9 Oak St", address2="", city="Dallas", state="TX", country="USA", zip="75201")
  order = json.loads(call(env, "modify_pending_order_address", order_id="#W1", **address))
  assert order["address"] == address and order["status"] == "pending"
  assert call(env, "modify_pending_order_address", order_id="#W3", **address) == \
      "Error: non-pending order cannot be modified"
  user = json.loads(call(env, "modify_user_address", user_id="ann_lee_1", **address))
  assert env.state()["users"]["ann_lee_1"]["address"] == address == user["address"]
  assert call(env, "modify_user_address", user_id="nope", **address) == "Error: user not found"


def test_modify_payment(env):
  assert call(env, "modify_pending_order_payment", order_id="#W1", payment_method_id="gift_card_1") == \
      "Error: the new payment method should be different from the current one"
  assert call(env, "modify_pending_order_payment", order_id="#W1", payment_method_id="paypal_9") == \
      "Error: payment method not found"
  order = json.loads(call(env, "modify_pending_order_payment", order_id="#W1",
                          payment_method_id="credit_card_1"))
  assert order["payment_history"][1:] == [
      {"transaction_type": "payment", "amount": 40.0, "payment_method_id": "credit_card_1"},
      {"transaction_type": "refund", "amount": 40.0, "payment_method_id": "gift_card_1"}]
  assert env.state()["users"]["ann_lee_1"]["payment_methods"]["gift_card_1"]["balance"] == 50.0
  assert call(env, "modify_pending_order_payment", order_id="#W1", payment_method_id="paypal_1") == \
      "Error: there should be exactly one payment for a pending order"


def test_modify_payment_to_small_gift_card_fails(env):
  # #W3 costs 50.0 and gift_card_1 holds 10.0.
  assert call(env, "modify_pending_order_address", order_id="#W3", address1="", address2="",
              city="", state="", country="", zip="") == "Error: non-pending order cannot be modified"
  env.reset()
  env.data["orders"]["#W3"]["status"] = "pending"  # set-up only: make #W3 modifiable
  assert call(env, "modify_pending_order_payment", order_id="#W3", payment_method_id="gift_card_1") == \
      "Error: insufficient gift card balance to pay for the order"


def test_modify_items_swaps_duplicates_and_settles_difference(env):
  order = json.loads(call(env, "modify_pending_order_items", order_id="#W1", item_ids=["1001", "1001"],
                          new_item_ids=["1002", "1002"], payment_method_id="credit_card_1"))
  assert [i["item_id"] for i in order["items"]] == ["1002", "1002"]
  assert order["items"][0]["price"] == 25.5 and order["items"][0]["options"] == {"color": "red"}
  assert order["status"] == "pending (item modified)"
  assert order["payment_history"][-1] == {"transaction_type": "payment", "amount": 11.0,
                                          "payment_method_id": "credit_card_1"}
  assert call(env, "modify_pending_order_items", order_id="#W1", item_ids=["1002"],
              new_item_ids=["1001"], payment_method_id="credit_card_1") == \
      "Error: non-pending order cannot be modified"


@pytest.mark.parametrize("item_ids,new_item_ids,method,error", [
    (["1001", "1001", "1001"], ["1002"] * 3, "credit_card_1", "Error: 1001 not found"),
    (["1001"], ["1002", "1002"], "credit_card_1", "Error: the number of items to be exchanged should match"),
    (["1001"], ["1003"], "credit_card_1", "Error: new item 1003 not found or available"),
    (["1001"], ["2001"], "credit_card_1", "Error: new item 2001 not found or available"),
    (["1001", "1001"], ["1002", "1002"], "gift_card_1",
     "Error: insufficient gift card balance to pay for the new item"),
    (["1001"], ["1002"], "paypal_7", "Error: payment method not found"),
])
def test_modify_items_errors(env, item_ids, new_item_ids, method, error):
  before = env.state()
  assert call(env, "modify_pending_order_items", order_id="#W1", item_ids=item_ids,
              new_item_ids=new_item_ids, payment_method_id=method) == error
  assert env.state() == before


def test_return(env):
  assert call(env, "return_delivered_order_items", order_id="#W1", item_ids=["1001"],
              payment_method_id="gift_card_1") == "Error: non-delivered order cannot be returned"
  assert call(env, "return_delivered_order_items", order_id="#W2", item_ids=["1001"],
              payment_method_id="paypal_1") == \
      "Error: payment method should be either the original payment method or a gift card"
  assert call(env, "return_delivered_order_items", order_id="#W2", item_ids=["1001", "1001"],
              payment_method_id="gift_card_1") == "Error: some item not found"
  order = json.loads(call(env, "return_delivered_order_items", order_id="#W2",
                          item_ids=["2001", "1001"], payment_method_id="gift_card_1"))
  assert order["status"] == "return requested"
  assert order["return_items"] == ["1001", "2001"] and order["return_payment_method_id"] == "gift_card_1"


def test_exchange(env):
  assert call(env, "exchange_delivered_order_items", order_id="#W2", item_ids=["2001"],
              new_item_ids=["2002"], payment_method_id="gift_card_1") == \
      "Error: insufficient gift card balance to pay for the price difference"
  order = json.loads(call(env, "exchange_delivered_order_items", order_id="#W2", item_ids=["2001"],
                          new_item_ids=["2002"], payment_method_id="paypal_1"))
  assert order["status"] == "exchange requested"
  assert order["exchange_items"] == ["2001"] and order["exchange_new_items"] == ["2002"]
  assert order["exchange_price_difference"] == 30.0
  assert order["items"][1]["item_id"] == "2001"  # items change only once the exchange happens
  assert call(env, "exchange_delivered_order_items", order_id="#W2", item_ids=["2001"],
              new_item_ids=["2002"], payment_method_id="paypal_1") == \
      "Error: non-delivered order cannot be exchanged"


def test_calculate_think_and_transfer(env):
  assert call(env, "calculate", expression="(20 + 25.5) * 2 / 3") == "30.33"
  assert call(env, "calculate", expression="2 ** 3 ** 99") == "Error: unsupported expression element Pow"
  assert call(env, "calculate", expression="__import__('os')") == "Error: invalid characters in expression"
  assert call(env, "calculate", expression="1 / (2 - 2)") == "Error: division by zero"
  assert call(env, "calculate", expression="(1 +") .startswith("Error: invalid syntax")
  assert call(env, "think", thought="hmm") == ""
  assert not env.done
  assert call(env, "transfer_to_human_agents", summary="wants a human") == "Transfer successful"
  assert env.done
  assert call(env, "get_user_details", user_id="ann_lee_1") == "Error: the episode is over."


def test_malformed_calls_are_error_observations(env):
  before = env.state()
  assert env.call_tool("drop_table", {}).startswith("Error: unknown tool 'drop_table'")
  assert env.call_tool("cancel_pending_order", {"order_id": "#W1"}) == \
      "Error: cancel_pending_order: missing required argument(s): reason."
  assert "must be of type array" in env.call_tool(
      "return_delivered_order_items", {"order_id": "#W2", "item_ids": "1001", "payment_method_id": "x"})
  assert env.call_tool("get_order_details", "{not json").startswith(
      "Error: arguments of get_order_details are not valid JSON")
  assert env.call_tool("get_order_details", {"order_id": "#W1", "x": 1}).startswith(
      "Error: get_order_details: unknown argument(s): x")
  assert env.state() == before


def test_reset_restores_the_initial_database(env):
  before = env.state()
  call(env, "cancel_pending_order", order_id="#W1", reason="ordered by mistake")
  assert env.state() != before
  env.reset()
  assert env.state() == before and env.actions == [] and not env.done


def test_state_is_a_copy(env):
  env.state()["orders"]["#W1"]["status"] = "hacked"
  assert env.state()["orders"]["#W1"]["status"] == "pending"
