"""Seeded airline benchmark tasks in tau-bench's style, each with gold actions and a scripted expert.

    tasks = generate_benchmark_tasks(n=20, seed=1)    # on the built-in airline (db_seed=0)

Each task gives the user id and one request that the policy allows (cancel a cancellable trip,
add bags, change a passenger, upgrade the cabin, book a direct flight, or ask a price); the gold
actions are the look-ups and the one write, and the expert solution asks for the user id, looks
things up, asks for confirmation, writes, and closes the conversation.
"""

from __future__ import annotations

import datetime
import json
import random
from typing import Any, Callable

from selfchallenge_jax.envs import tau_people
from selfchallenge_jax.envs.airline.airports import CABINS, FREE_BAGS, NOW
from selfchallenge_jax.envs.airline.data import airline_data_json
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.tau_tasks import Call, expert_task
from selfchallenge_jax.envs.tau_tasks import call as _call

Data = dict[str, Any]
# (user_id, request, look-ups, write or None, message before the write / the answer, outputs)
Built = tuple[str, str, list[Call], Call | None, str, tuple[str, ...]]
_TODAY = NOW[:10]
_DAY_BEFORE = (datetime.datetime.fromisoformat(NOW) - datetime.timedelta(days=1)).isoformat()


class _Builder:
  """Picks a random instance of each task kind from a database; None if this draw does not fit."""

  def __init__(self, data: Data, rng: random.Random) -> None:
    self.data, self.rng = data, rng
    # Only trips entirely in the future can be changed or cancelled.
    self.upcoming = [r for r in data["reservations"].values()
                     if r.get("status") != "cancelled" and all(f["date"] > _TODAY for f in r["flights"])]

  def _look(self, reservation: Data) -> list[Call]:
    return [_call("get_reservation_details", reservation_id=reservation["reservation_id"])]

  def _card(self, user: Data, at_least: float = 0) -> str | None:
    usable = [m_id for m_id, m in user["payment_methods"].items()
              if m["source"] == "credit_card" or (m["source"] == "gift_card" and m["amount"] >= at_least)]
    return self.rng.choice(usable) if usable else None

  def cancel(self) -> Built | None:
    r = self.rng.choice(self.upcoming)
    if r["cabin"] == "business":
      reason = "of a change of plan"
    elif r["created_at"] >= _DAY_BEFORE:
      reason = "of a change of plan, and you booked it less than 24 hours ago"
    elif r["insurance"] == "yes":
      reason = "you are sick and cannot travel (a health reason covered by your insurance)"
    else:
      return None
    rid = r["reservation_id"]
    request = f"You want to cancel reservation {rid} because {reason}."
    return (r["user_id"], request, self._look(r), _call("cancel_reservation", reservation_id=rid),
            f"I will cancel the whole reservation {rid}; the refund goes to the original payment "
            f"methods within 5 to 7 business days.", ())

  def add_bags(self) -> Built | None:
    r = self.rng.choice(self.upcoming)
    user = self.data["users"][r["user_id"]]
    extra = self.rng.randint(1, 3)
    total = r["total_baggages"] + extra
    free = FREE_BAGS[user["membership"]][r["cabin"]] * len(r["passengers"])
    nonfree = max(r["nonfree_baggages"], total - free)
    payment = self._card(user, 50 * (nonfree - r["nonfree_baggages"]))
    if payment is None:
      return None
    rid = r["reservation_id"]
    request = f"You want to add {extra} checked bags to reservation {rid}, paying with {payment}."
    write = _call("update_reservation_baggages", reservation_id=rid, total_baggages=total,
                  nonfree_baggages=nonfree, payment_id=payment)
    return (r["user_id"], request, [_call("get_user_details", user_id=r["user_id"]), *self._look(r)],
            write, f"I will set reservation {rid} to {total} checked bags, {nonfree} of them paid "
            f"at 50 dollars each, charged to {payment}.", ())

  def change_passenger(self) -> Built | None:
    r = self.rng.choice(self.upcoming)
    index = self.rng.randrange(len(r["passengers"]))
    new = {"first_name": self.rng.choice(tau_people.FIRST_NAMES),
           "last_name": self.rng.choice(tau_people.LAST_NAMES),
           "dob": tau_people.date_of_birth(self.rng)}
    old = r["passengers"][index]
    passengers = [dict(p) for p in r["passengers"]]
    passengers[index] = new
    rid = r["reservation_id"]
    request = (f"On reservation {rid}, passenger {old['first_name']} {old['last_name']} cannot "
               f"travel; replace them with {new['first_name']} {new['last_name']}, born {new['dob']}.")
    write = _call("update_reservation_passengers", reservation_id=rid, passengers=passengers)
    return (r["user_id"], request, self._look(r), write,
            f"I will replace {old['first_name']} {old['last_name']} with {new['first_name']} "
            f"{new['last_name']} (born {new['dob']}) on reservation {rid}.", ())

  def upgrade_cabin(self) -> Built | None:
    r = self.rng.choice(self.upcoming)
    if r["cabin"] == "business":
      return None
    cabin = CABINS[CABINS.index(r["cabin"]) + 1]
    people = len(r["passengers"])
    cost = 0
    for leg in r["flights"]:
      on_date = self.data["flights"][leg["flight_number"]]["dates"][leg["date"]]
      if on_date["status"] != "available" or on_date["available_seats"][cabin] < people:
        return None
      cost += (on_date["prices"][cabin] - leg["price"]) * people
    user = self.data["users"][r["user_id"]]
    payment = self._card(user, cost)
    if payment is None:
      return None
    rid = r["reservation_id"]
    flights = [{"flight_number": f["flight_number"], "date": f["date"]} for f in r["flights"]]
    request = f"You want to upgrade reservation {rid} to {cabin.replace('_', ' ')}, paying with {payment}."
    write = _call("update_reservation_flights", reservation_id=rid, cabin=cabin, flights=flights,
                  payment_id=payment)
    return (r["user_id"], request, [_call("get_user_details", user_id=r["user_id"]), *self._look(r)],
            write, f"I will move reservation {rid} to {cabin} on the same flights; the difference "
            f"of {cost} dollars is charged to {payment}.", ())

  def _cheapest_direct(self) -> tuple[Data, str] | None:
    flight = self.rng.choice(list(self.data["flights"].values()))
    day = self.rng.choice([d for d in flight["dates"] if d > _TODAY])
    options = [f for f in self.data["flights"].values()
               if (f["origin"], f["destination"]) == (flight["origin"], flight["destination"])
               and f["dates"][day]["status"] == "available"
               and f["dates"][day]["available_seats"]["economy"] > 0]
    if not options:
      return None
    prices = sorted(f["dates"][day]["prices"]["economy"] for f in options)
    if len(prices) > 1 and prices[0] == prices[1]:
      return None  # "the cheapest" must name one flight
    return min(options, key=lambda f: f["dates"][day]["prices"]["economy"]), day

  def book_direct(self) -> Built | None:
    found = self._cheapest_direct()
    user_id = self.rng.choice(list(self.data["users"]))
    user = self.data["users"][user_id]
    cards = [m for m, v in user["payment_methods"].items() if v["source"] == "credit_card"]
    if found is None or not cards:
      return None
    flight, day = found
    card = self.rng.choice(cards)
    price = flight["dates"][day]["prices"]["economy"]
    route = f"from {flight['origin']} to {flight['destination']}"
    request = (f"You want to book a one-way economy trip {route} on {day} for yourself only, on the "
               f"cheapest direct flight, paying with {card}, without insurance or checked bags.")
    me = {"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"],
          "dob": user["dob"]}
    write = _call("book_reservation", user_id=user_id, origin=flight["origin"],
                  destination=flight["destination"], flight_type="one_way", cabin="economy",
                  flights=[{"flight_number": flight["flight_number"], "date": day}],
                  passengers=[me], payment_methods=[{"payment_id": card, "amount": price}],
                  total_baggages=0, nonfree_baggages=0, insurance="no")
    lookups = [_call("get_user_details", user_id=user_id),
               _call("search_direct_flight", origin=flight["origin"],
                     destination=flight["destination"], date=day)]
    return (user_id, request, lookups, write,
            f"I will book flight {flight['flight_number']} {route} on {day} in economy for "
            f"{me['first_name']} {me['last_name']}, one way, no insurance, no bags, {price} "
            f"dollars charged to {card}.", ())

  def ask_price(self) -> Built | None:
    found = self._cheapest_direct()
    if found is None:
      return None
    flight, day = found
    price = flight["dates"][day]["prices"]["economy"]
    route = f"from {flight['origin']} to {flight['destination']}"
    user_id = self.rng.choice(list(self.data["users"]))
    request = f"You want to know the price of the cheapest economy direct flight {route} on {day}."
    lookups = [_call("search_direct_flight", origin=flight["origin"],
                     destination=flight["destination"], date=day)]
    return (user_id, request, lookups, None,
            f"The cheapest economy direct flight {route} on {day} is {flight['flight_number']} "
            f"at {price} dollars.", (str(price),))


def _task(index: int, seed: int, db_seed: int, built: Built) -> BenchmarkTask:
  user_id, request, lookups, write, message, outputs = built
  instruction = f"Your user id is {user_id}. {request}"
  gold = [_call("get_user_details", user_id=user_id)]
  gold += [c for c in lookups if c != gold[0]]
  return expert_task(
      env="airline", task_id=f"airline-s{seed}-{index}", db_seed=db_seed, instruction=instruction,
      greeting="Hello! Could you tell me your user id?", gold=gold, write=write, message=message,
      outputs=outputs)


def generate_benchmark_tasks(n: int, seed: int, db_seed: int = 0) -> list[BenchmarkTask]:
  """`n` airline tasks on the built-in airline generated with `db_seed`; same seed, same tasks."""
  data = json.loads(airline_data_json(db_seed))
  builder = _Builder(data, random.Random(f"airline-tasks-{seed}"))
  kinds: list[Callable[[], Built | None]] = [
      builder.cancel, builder.add_bags, builder.change_passenger, builder.upgrade_cabin,
      builder.book_direct, builder.ask_price,
  ]
  tasks: list[BenchmarkTask] = []
  while len(tasks) < n:
    built = kinds[len(tasks) % len(kinds)]()
    if built is not None:  # this draw did not fit; the next draw of the same kind will
      tasks.append(_task(len(tasks), seed, db_seed, built))
  return tasks
