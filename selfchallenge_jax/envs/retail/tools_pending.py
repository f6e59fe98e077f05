"""Retail write tools on pending orders and on the user's profile.

Every tool validates everything before it changes anything, so a refused call leaves the
database exactly as it was (the reward compares whole databases).
"""

from __future__ import annotations

import json
from typing import Any

from selfchallenge_jax.envs.base import ToolError

Data = dict[str, Any]
CANCEL_REASONS = ("no longer needed", "ordered by mistake")


def _order(data: Data, order_id: str) -> dict[str, Any]:
  if order_id not in data["orders"]:
    raise ToolError("order not found")
  return data["orders"][order_id]


def _payment_method(data: Data, order: dict[str, Any], payment_method_id: str) -> dict[str, Any]:
  methods = data["users"][order["user_id"]]["payment_methods"]
  if payment_method_id not in methods:
    raise ToolError("payment method not found")
  return methods[payment_method_id]


def _add_to_gift_card(method: dict[str, Any], amount: float) -> None:
  method["balance"] = round(method["balance"] + amount, 2)


def cancel_pending_order(data: Data, order_id: str, reason: str) -> str:
  order = _order(data, order_id)
  if order["status"] != "pending":
    raise ToolError("non-pending order cannot be cancelled")
  if reason not in CANCEL_REASONS:
    raise ToolError("invalid reason")
  refunds = []
  for payment in order["payment_history"]:
    method_id = payment["payment_method_id"]
    refunds.append({"transaction_type": "refund", "amount": payment["amount"],
                    "payment_method_id": method_id})
    if "gift_card" in method_id:  # gift cards are refunded at once; other methods take days
      _add_to_gift_card(data["users"][order["user_id"]]["payment_methods"][method_id],
                        payment["amount"])
  order["status"] = "cancelled"
  order["cancel_reason"] = reason
  order["payment_history"].extend(refunds)
  return json.dumps(order)


def _address(address1: str, address2: str, city: str, state: str, country: str,
              zip: str) -> dict[str, str]:  # noqa: A002
  return {"address1": address1, "address2": address2, "city": city, "state": state,
          "country": country, "zip": zip}


def modify_pending_order_address(data: Data, order_id: str, address1: str, address2: str,
                                 city: str, state: str, country: str, zip: str) -> str:  # noqa: A002
  order = _order(data, order_id)
  if order["status"] != "pending":
    raise ToolError("non-pending order cannot be modified")
  order["address"] = _address(address1, address2, city, state, country, zip)
  return json.dumps(order)


def modify_user_address(data: Data, user_id: str, address1: str, address2: str, city: str,
                        state: str, country: str, zip: str) -> str:  # noqa: A002
  if user_id not in data["users"]:
    raise ToolError("user not found")
  user = data["users"][user_id]
  user["address"] = _address(address1, address2, city, state, country, zip)
  return json.dumps(user)


def modify_pending_order_payment(data: Data, order_id: str, payment_method_id: str) -> str:
  order = _order(data, order_id)
  if order["status"] != "pending":
    raise ToolError("non-pending order cannot be modified")
  new_method = _payment_method(data, order, payment_method_id)
  history = order["payment_history"]
  if len(history) != 1 or history[0]["transaction_type"] != "payment":
    raise ToolError("there should be exactly one payment for a pending order")
  old_id, amount = history[0]["payment_method_id"], history[0]["amount"]
  if old_id == payment_method_id:
    raise ToolError("the new payment method should be different from the current one")
  if new_method["source"] == "gift_card" and new_method["balance"] < amount:
    raise ToolError("insufficient gift card balance to pay for the order")
  history.append({"transaction_type": "payment", "amount": amount,
                  "payment_method_id": payment_method_id})
  history.append({"transaction_type": "refund", "amount": amount, "payment_method_id": old_id})
  if new_method["source"] == "gift_card":
    _add_to_gift_card(new_method, -amount)
  if "gift_card" in old_id:
    _add_to_gift_card(data["users"][order["user_id"]]["payment_methods"][old_id], amount)
  return json.dumps(order)


def check_item_swap(data: Data, order: dict[str, Any], item_ids: list[str],
                    new_item_ids: list[str]) -> float:
  """Validates replacing `item_ids` of `order` by `new_item_ids`; returns the price difference.

  Shared by modify (pending) and exchange (delivered): the same item may appear several times
  in either list, and each new item must be an available variant of the old item's product.
  """
  in_order = [item["item_id"] for item in order["items"]]
  for item_id in item_ids:
    if item_ids.count(item_id) > in_order.count(item_id):
      raise ToolError(f"{item_id} not found")
  if len(item_ids) != len(new_item_ids):
    raise ToolError("the number of items to be exchanged should match")
  difference = 0.0
  for item_id, new_item_id in zip(item_ids, new_item_ids):
    item = next(item for item in order["items"] if item["item_id"] == item_id)
    variants = data["products"][item["product_id"]]["variants"]
    if new_item_id not in variants or not variants[new_item_id]["available"]:
      raise ToolError(f"new item {new_item_id} not found or available")
    difference += variants[new_item_id]["price"] - item["price"]
  return difference


def modify_pending_order_items(data: Data, order_id: str, item_ids: list[str],
                               new_item_ids: list[str], payment_method_id: str) -> str:
  order = _order(data, order_id)
  if order["status"] != "pending":
    raise ToolError("non-pending order cannot be modified")
  difference = check_item_swap(data, order, item_ids, new_item_ids)
  method = _payment_method(data, order, payment_method_id)
  if method["source"] == "gift_card" and method["balance"] < difference:
    raise ToolError("insufficient gift card balance to pay for the new item")
  order["payment_history"].append({
      "transaction_type": "payment" if difference > 0 else "refund",
      "amount": abs(difference), "payment_method_id": payment_method_id})
  if method["source"] == "gift_card":
    _add_to_gift_card(method, -difference)
  # Swap one occurrence per listed id: a replaced item no longer matches its old id, so a
  # duplicated id moves on to the next copy.
  for item_id, new_item_id in zip(item_ids, new_item_ids):
    item = next(item for item in order["items"] if item["item_id"] == item_id)
    variant = data["products"][item["product_id"]]["variants"][new_item_id]
    item["item_id"], item["price"] = new_item_id, variant["price"]
    item["options"] = dict(variant["options"])
  order["status"] = "pending (item modified)"
  return json.dumps(order)
