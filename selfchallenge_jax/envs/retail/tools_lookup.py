"""Retail read-only tools: finding the user, and reading users, orders and products."""

from __future__ import annotations

import json
from typing import Any

from selfchallenge_jax.envs.base import ToolError

Data = dict[str, Any]


def find_user_id_by_email(data: Data, email: str) -> str:
  wanted = email.lower()
  for user_id, user in data["users"].items():
    if user["email"].lower() == wanted:
      return user_id
  raise ToolError("user not found")


def find_user_id_by_name_zip(data: Data, first_name: str, last_name: str, zip: str) -> str:  # noqa: A002
  first, last = first_name.lower(), last_name.lower()
  for user_id, user in data["users"].items():
    name = user["name"]
    if (name["first_name"].lower() == first and name["last_name"].lower() == last
        and user["address"]["zip"] == zip):
      return user_id
  raise ToolError("user not found")


def get_user_details(data: Data, user_id: str) -> str:
  if user_id not in data["users"]:
    raise ToolError("user not found")
  return json.dumps(data["users"][user_id])


def get_order_details(data: Data, order_id: str) -> str:
  if order_id not in data["orders"]:
    raise ToolError("order not found")
  return json.dumps(data["orders"][order_id])


def get_product_details(data: Data, product_id: str) -> str:
  if product_id not in data["products"]:
    raise ToolError("product not found")
  return json.dumps(data["products"][product_id])


def list_all_product_types(data: Data) -> str:
  """{product name: product id}, sorted by name."""
  by_name = {product["name"]: product["product_id"] for product in data["products"].values()}
  return json.dumps(dict(sorted(by_name.items())))
