"""Retail write tools on delivered orders: return and exchange (each at most once per order).

Both only record the request (status "return requested" / "exchange requested"); money moves
later, outside the database, as in tau-bench.
"""

from __future__ import annotations

import json
from typing import Any

from selfchallenge_jax.envs.base import ToolError
from selfchallenge_jax.envs.retail.tools_pending import check_item_swap

Data = dict[str, Any]


def _delivered_order(data: Data, order_id: str, verb: str) -> dict[str, Any]:
  if order_id not in data["orders"]:
    raise ToolError("order not found")
  order = data["orders"][order_id]
  if order["status"] != "delivered":
    raise ToolError(f"non-delivered order cannot be {verb}")
  return order


def return_delivered_order_items(data: Data, order_id: str, item_ids: list[str],
                                 payment_method_id: str) -> str:
  order = _delivered_order(data, order_id, "returned")
  if payment_method_id not in data["users"][order["user_id"]]["payment_methods"]:
    raise ToolError("payment method not found")
  original = order["payment_history"][0]["payment_method_id"]
  if "gift_card" not in payment_method_id and payment_method_id != original:
    raise ToolError("payment method should be either the original payment method or a gift card")
  in_order = [item["item_id"] for item in order["items"]]
  if any(item_ids.count(item_id) > in_order.count(item_id) for item_id in item_ids):
    raise ToolError("some item not found")
  order["status"] = "return requested"
  order["return_items"] = sorted(item_ids)
  order["return_payment_method_id"] = payment_method_id
  return json.dumps(order)


def exchange_delivered_order_items(data: Data, order_id: str, item_ids: list[str],
                                   new_item_ids: list[str], payment_method_id: str) -> str:
  order = _delivered_order(data, order_id, "exchanged")
  difference = round(check_item_swap(data, order, item_ids, new_item_ids), 2)
  methods = data["users"][order["user_id"]]["payment_methods"]
  if payment_method_id not in methods:
    raise ToolError("payment method not found")
  method = methods[payment_method_id]
  if method["source"] == "gift_card" and method["balance"] < difference:
    raise ToolError("insufficient gift card balance to pay for the price difference")
  order["status"] = "exchange requested"
  order["exchange_items"] = sorted(item_ids)
  order["exchange_new_items"] = sorted(new_item_ids)
  order["exchange_payment_method_id"] = payment_method_id
  order["exchange_price_difference"] = difference
  return json.dumps(order)
