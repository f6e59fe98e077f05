"""Seeded generator of a retail database in tau-bench's layout (users, orders, products).

    products[product_id] = {"name", "product_id", "variants": {item_id: {"item_id", "options",
                            "available", "price"}}}
    users[user_id]       = {"name": {"first_name", "last_name"}, "address": {...}, "email",
                            "payment_methods": {id: {"source", "id", ...}}, "orders": [order_id]}
    orders[order_id]     = {"order_id", "user_id", "address", "items": [{"name", "product_id",
                            "item_id", "price", "options"}], "fulfillments", "status",
                            "payment_history": [{"transaction_type", "amount", "payment_method_id"}]}
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from selfchallenge_jax.envs import tau_people
from selfchallenge_jax.envs.retail.catalog import DEFAULT_PRICE_RANGE, PRICE_RANGES, PRODUCT_OPTIONS

# Order status mix: mostly actionable (pending / delivered), as in tau-bench's data.
_STATUSES = ["pending"] * 4 + ["processed"] * 2 + ["delivered"] * 5 + ["cancelled"]


def generate_retail_data(seed: int = 0, num_users: int = 500, num_orders: int = 1000) -> dict[str, Any]:
  rng = random.Random(f"retail-{seed}")
  taken: set[str] = set()
  products = _products(rng, taken)
  users = _users(rng, num_users, taken)
  orders = _orders(rng, num_orders, users, products, taken)
  return {"users": users, "orders": orders, "products": products}


def _products(rng: random.Random, taken: set[str]) -> dict[str, Any]:
  products: dict[str, Any] = {}
  for name, options in PRODUCT_OPTIONS.items():
    product_id = tau_people.unique_number_id(rng, "", 10, taken)
    combos = list(itertools.product(*options.values()))
    rng.shuffle(combos)
    low, high = PRICE_RANGES.get(name, DEFAULT_PRICE_RANGE)
    variants = {}
    for combo in combos[:rng.randint(min(6, len(combos)), min(20, len(combos)))]:
      item_id = tau_people.unique_number_id(rng, "", 10, taken)
      variants[item_id] = {
          "item_id": item_id,
          "options": dict(zip(options, combo)),
          "available": rng.random() < 0.75,
          "price": round(rng.uniform(low, high), 2),
      }
    products[product_id] = {"name": name, "product_id": product_id, "variants": variants}
  return products


def _users(rng: random.Random, count: int, taken: set[str]) -> dict[str, Any]:
  users: dict[str, Any] = {}
  for _ in range(count):
    first, last, user_id = tau_people.person(rng, taken)
    methods: dict[str, Any] = {}
    for source in rng.sample(["credit_card", "paypal", "gift_card"], rng.randint(1, 3)):
      if source == "credit_card":
        method = tau_people.credit_card(rng, taken)
      elif source == "paypal":
        method = {"source": "paypal", "id": tau_people.unique_number_id(rng, "paypal_", 7, taken)}
      else:
        method = {"source": "gift_card", "balance": float(rng.randint(0, 200)),
                  "id": tau_people.unique_number_id(rng, "gift_card_", 7, taken)}
      methods[method["id"]] = method
    users[user_id] = {
        "name": {"first_name": first, "last_name": last},
        "address": tau_people.address(rng),
        "email": tau_people.email(rng, first, last),
        "payment_methods": methods,
        "orders": [],
    }
  return users


def _orders(rng: random.Random, count: int, users: dict[str, Any], products: dict[str, Any],
            taken: set[str]) -> dict[str, Any]:
  orders: dict[str, Any] = {}
  user_ids = list(users)
  product_list = list(products.values())
  for _ in range(count):
    user_id = rng.choice(user_ids)
    user = users[user_id]
    order_id = tau_people.unique_number_id(rng, "#W", 7, taken)
    items = []
    for product in rng.sample(product_list, rng.randint(1, 5)):
      item = product["variants"][rng.choice(list(product["variants"]))]
      items.append({"name": product["name"], "product_id": product["product_id"],
                    "item_id": item["item_id"], "price": item["price"],
                    "options": dict(item["options"])})
    status = rng.choice(_STATUSES)
    payment_id = rng.choice(list(user["payment_methods"]))
    total = round(sum(item["price"] for item in items), 2)
    payments = [{"transaction_type": "payment", "amount": total, "payment_method_id": payment_id}]
    order = {
        "order_id": order_id,
        "user_id": user_id,
        "address": dict(user["address"]) if rng.random() < 0.9 else tau_people.address(rng),
        "items": items,
        "fulfillments": [],
        "status": status,
        "payment_history": payments,
    }
    if status in ("processed", "delivered"):
      order["fulfillments"] = [{"tracking_id": [f"{rng.randint(10 ** 11, 10 ** 12 - 1)}"],
                                "item_ids": [item["item_id"] for item in items]}]
    if status == "cancelled":
      order["cancel_reason"] = rng.choice(["no longer needed", "ordered by mistake"])
      payments.append({"transaction_type": "refund", "amount": total, "payment_method_id": payment_id})
    orders[order_id] = order
    user["orders"].append(order_id)
  return orders
