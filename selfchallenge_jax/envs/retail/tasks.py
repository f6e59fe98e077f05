"""Seeded retail benchmark tasks in tau-bench's style, each with gold actions and a scripted expert.

    tasks = generate_benchmark_tasks(n=20, seed=1)    # on the built-in store (db_seed=0)

Every task names the user (name + email) and one request on one of their orders or profile; the
gold actions are tau-bench-like (look-ups, then the one write), and the expert solution asks for
the email, looks things up, asks for confirmation, writes, and closes the conversation.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

from selfchallenge_jax.envs import tau_people
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.tau_tasks import expert_task
from selfchallenge_jax.envs.tau_tasks import call as _call
from selfchallenge_jax.envs.retail.data import retail_data_json

Data = dict[str, Any]


def _options(options: dict[str, str]) -> str:
  return ", ".join(f"{k} {v}" for k, v in options.items())


class _Builder:
  """Picks a random instance of each task kind from a database; None if none fits."""

  def __init__(self, data: Data, rng: random.Random) -> None:
    self.data, self.rng = data, rng
    self.by_status: dict[str, list[str]] = {}
    for order_id, order in data["orders"].items():
      self.by_status.setdefault(order["status"], []).append(order_id)

  def _order(self, status: str) -> tuple[str, Data, Data]:
    order_id = self.rng.choice(self.by_status[status])
    order = self.data["orders"][order_id]
    return order_id, order, self.data["users"][order["user_id"]]

  def _unique_items(self, order: Data) -> list[Data]:
    names = [item["name"] for item in order["items"]]
    return [item for item in order["items"] if names.count(item["name"]) == 1]

  def _swap_target(self, item: Data) -> Data | None:
    variants = self.data["products"][item["product_id"]]["variants"].values()
    choices = [v for v in variants if v["available"] and v["item_id"] != item["item_id"]]
    return self.rng.choice(choices) if choices else None

  def cancel(self) -> tuple[Any, ...] | None:
    order_id, order, user = self._order("pending")
    reason = self.rng.choice(["no longer needed", "ordered by mistake"])
    request = f"You want to cancel order {order_id} because it is {reason}."
    write = _call("cancel_pending_order", order_id=order_id, reason=reason)
    confirm = f"I will cancel order {order_id} with the reason '{reason}'."
    return user, order["user_id"], request, [_call("get_order_details", order_id=order_id)], write, confirm, ()

  def return_items(self) -> tuple[Any, ...] | None:
    order_id, order, user = self._order("delivered")
    items = self._unique_items(order)
    if not items:
      return None
    chosen = self.rng.sample(items, min(len(items), self.rng.randint(1, 2)))
    original = order["payment_history"][0]["payment_method_id"]
    gift_cards = [m for m in user["payment_methods"] if m.startswith("gift_card")]
    method = self.rng.choice([original] + gift_cards)
    names = " and the ".join(item["name"] for item in chosen)
    request = f"For {order_id}, return the {names} via {method}."
    ids = [item["item_id"] for item in chosen]
    write = _call("return_delivered_order_items", order_id=order_id, item_ids=ids,
                  payment_method_id=method)
    confirm = f"I will return items {', '.join(ids)} of order {order_id}, refunding to {method}."
    return user, order["user_id"], request, [_call("get_order_details", order_id=order_id)], write, confirm, ()

  def _swap(self, status: str) -> tuple[Any, ...] | None:
    order_id, order, user = self._order(status)
    items = self._unique_items(order)
    if not items:
      return None
    item = self.rng.choice(items)
    target = self._swap_target(item)
    if target is None:
      return None
    difference = target["price"] - item["price"]
    methods = [m_id for m_id, m in user["payment_methods"].items()
               if m["source"] != "gift_card" or m["balance"] >= difference]
    if not methods:
      return None
    method = self.rng.choice(methods)
    verb = "exchange" if status == "delivered" else "modify"
    tool = "exchange_delivered_order_items" if verb == "exchange" else "modify_pending_order_items"
    request = (f"For {order_id}, {verb} the {item['name']} ({_options(item['options'])}) to the one "
               f"with {_options(target['options'])}, paying or receiving the difference via {method}.")
    write = _call(tool, order_id=order_id, item_ids=[item["item_id"]],
                  new_item_ids=[target["item_id"]], payment_method_id=method)
    lookups = [_call("get_order_details", order_id=order_id),
               _call("get_product_details", product_id=item["product_id"])]
    confirm = (f"I will {verb} item {item['item_id']} of order {order_id} for item "
               f"{target['item_id']} ({_options(target['options'])}), settling the price "
               f"difference of {difference:.2f} with {method}. These are all the items to change.")
    return user, order["user_id"], request, lookups, write, confirm, ()

  def exchange(self) -> tuple[Any, ...] | None:
    return self._swap("delivered")

  def modify_items(self) -> tuple[Any, ...] | None:
    return self._swap("pending")

  def modify_payment(self) -> tuple[Any, ...] | None:
    order_id, order, user = self._order("pending")
    current = order["payment_history"][0]
    methods = [m_id for m_id, m in user["payment_methods"].items()
               if m_id != current["payment_method_id"]
               and (m["source"] != "gift_card" or m["balance"] >= current["amount"])]
    if len(order["payment_history"]) != 1 or not methods:
      return None
    method = self.rng.choice(methods)
    request = f"For {order_id}, you want to pay with {method} instead."
    write = _call("modify_pending_order_payment", order_id=order_id, payment_method_id=method)
    confirm = f"I will switch the payment of order {order_id} to {method}."
    return user, order["user_id"], request, [_call("get_order_details", order_id=order_id)], write, confirm, ()

  def modify_address(self, of_order: bool) -> tuple[Any, ...] | None:
    order_id, order, user = self._order("pending")
    new = tau_people.address(self.rng)
    where = f"{new['address1']}, {new['address2']}, {new['city']}, {new['state']} {new['zip']}, {new['country']}"
    if of_order:
      request = f"You want the shipping address of order {order_id} changed to {where}."
      write = _call("modify_pending_order_address", order_id=order_id, **new)
      lookups = [_call("get_order_details", order_id=order_id)]
      confirm = f"I will change the shipping address of order {order_id} to {where}."
    else:
      request = f"You moved and want your default address changed to {where}."
      write = _call("modify_user_address", user_id=order["user_id"], **new)
      lookups = []
      confirm = f"I will change your default address to {where}."
    return user, order["user_id"], request, lookups, write, confirm, ()

  def count_available(self) -> tuple[Any, ...] | None:
    _, order, user = self._order(self.rng.choice(["pending", "delivered"]))
    product = self.data["products"][self.rng.choice(order["items"])["product_id"]]
    count = sum(v["available"] for v in product["variants"].values())
    request = (f"You want to know how many different {product['name']} items are available "
               f"in the store right now.")
    lookups = [_call("list_all_product_types"),
               _call("get_product_details", product_id=product["product_id"])]
    return user, order["user_id"], request, lookups, None, f"There are {count} {product['name']} items available right now.", (str(count),)


def _task(index: int, seed: int, db_seed: int, built: tuple[Any, ...]) -> BenchmarkTask:
  user, user_id, request, lookups, write, message, outputs = built
  first, last = user["name"]["first_name"], user["name"]["last_name"]
  instruction = f"Your name is {first} {last} and your email is {user['email']}. {request}"
  lookups = [_call("find_user_id_by_email", email=user["email"]),
             _call("get_user_details", user_id=user_id), *lookups]
  return expert_task(
      env="retail", task_id=f"retail-s{seed}-{index}", db_seed=db_seed, instruction=instruction,
      greeting="Hello! To find your account, could you tell me your email address?", gold=lookups,
      write=write, message=message, outputs=outputs)


def generate_benchmark_tasks(n: int, seed: int, db_seed: int = 0) -> list[BenchmarkTask]:
  """`n` retail tasks on the built-in store generated with `db_seed`; same seed, same tasks."""
  data = json.loads(retail_data_json(db_seed))
  rng = random.Random(f"retail-tasks-{seed}")
  builder = _Builder(data, rng)
  kinds: list[Callable[[], tuple[Any, ...] | None]] = [
      builder.cancel, builder.return_items, builder.exchange, builder.modify_items,
      builder.modify_payment, lambda: builder.modify_address(True),
      lambda: builder.modify_address(False), builder.count_available,
  ]
  tasks: list[BenchmarkTask] = []
  while len(tasks) < n:
    built = kinds[len(tasks) % len(kinds)]()
    if built is not None:  # this draw did not fit; the next draw of the same kind will
      tasks.append(_task(len(tasks), seed, db_seed, built))
  return tasks
