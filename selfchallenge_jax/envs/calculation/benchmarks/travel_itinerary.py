"""Seeded travel-itinerary benchmark tasks in the style of M3ToolEval's fifteen.

Tasks with seed s run on the tables generated for seed s (env_kwargs carries the seed), and are
built only from legs and hotel filters that exist in those tables, so every task has an answer;
"highest-rated" tasks are built only where the highest rating is unique.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from typing import Any

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation import travel_itinerary as ti
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.calculation.env import CalculationEnv
from selfchallenge_jax.envs.calculation.travel_data import TravelData, generate_travel_data

Leg = tuple[str, str, str]   # (from_location, to_location, date)
_PHRASES = {"wifi": "wifi", "pool": "a pool", "gym": "a gym", "breakfast": "breakfast"}


def _amenities(names: tuple[str, ...]) -> str:
  return " and ".join(_PHRASES.get(n, n) for n in names)


@dataclasses.dataclass(frozen=True)
class Stay:
  """One leg of a trip: the flight, the nights, and how the hotel is chosen."""
  leg: Leg
  nights: int
  preferences: tuple[str, ...] = ()
  without: str | None = None        # an amenity the hotel must not have
  highest_rated: bool = False       # pick the best-rated suitable hotel instead of the cheapest

  def hotels(self, data: TravelData) -> list[dict[str, Any]]:
    return [h for h in data.hotels
            if h["location"] == self.leg[1] and all(p in h["preferences"] for p in self.preferences)
            and (self.without is None or self.without not in h["preferences"])]

  def budget(self, data: TravelData) -> int | float:
    flight = min(f["price"] for f in data.flights
                 if (f["from_location"], f["to_location"], f["date"]) == self.leg)
    hotels = self.hotels(data)
    hotel = (max(hotels, key=lambda h: h["rating"]) if self.highest_rated
             else min(hotels, key=lambda h: h["price_per_night"]))
    return ti.budget_calculator(flight, hotel["price_per_night"], self.nights)

  def describe(self) -> str:
    if self.highest_rated:
      hotel = "the highest-rated hotel"
      if self.preferences:
        hotel += " with " + _amenities(self.preferences)
    elif self.preferences:
      hotel = "a hotel with " + _amenities(self.preferences)
    else:
      hotel = "any hotel"
    if self.without:
      hotel += f" but without {_amenities((self.without,))}"
    nights = f"{self.nights} night" + ("" if self.nights == 1 else "s")
    return f"to {self.leg[1]} on {self.leg[2]} for {nights}, staying in {hotel}"


def _valid(stay: Stay, data: TravelData) -> bool:
  hotels = stay.hotels(data)
  if not hotels:
    return False
  ratings = sorted((h["rating"] for h in hotels), reverse=True)
  return not stay.highest_rated or len(ratings) == 1 or ratings[0] > ratings[1]


def _random_stay(rng: random.Random, data: TravelData, leg: Leg, **kwargs: Any) -> Stay | None:
  """A stay on `leg` whose hotel filter some hotel passes (None if 20 draws find none)."""
  at_destination = [h for h in data.hotels if h["location"] == leg[1]]
  for _ in range(20):
    hotel = rng.choice(at_destination)
    prefs = tuple(p for p in hotel["preferences"] if rng.random() < 0.5)
    without = kwargs.get("without")
    if without == "?":
      absent = [a for a in ("wifi", "pool", "gym", "breakfast") if a not in hotel["preferences"]]
      if not absent or not prefs:
        continue
      without = rng.choice(absent)
    stay = Stay(leg, rng.randint(1, 7), prefs, without, kwargs.get("highest_rated", False))
    if _valid(stay, data):
      return stay
  return None


def _legs(data: TravelData) -> list[Leg]:
  return sorted({(f["from_location"], f["to_location"], f["date"]) for f in data.flights})


def _days_between(a: str, b: str) -> int:
  return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


def _chain(rng: random.Random, data: TravelData, length: int) -> list[Leg] | None:
  """`length` legs, each leaving from the previous destination 1-10 days later."""
  legs = _legs(data)
  starts = rng.sample(legs, len(legs))
  for first in starts:
    chain = [first]
    while len(chain) < length:
      nexts = [l for l in legs
               if l[0] == chain[-1][1] and 0 < _days_between(chain[-1][2], l[2]) <= 10]
      if not nexts:
        break
      chain.append(rng.choice(nexts))
    if len(chain) == length:
      return chain
  return None


def _plan(rng: random.Random, data: TravelData, kind: str) -> list[Stay]:
  for _ in range(50):
    if kind == "multi_city":
      chain = _chain(rng, data, rng.randint(2, 3))
      stays = [_random_stay(rng, data, leg) for leg in chain] if chain else [None]
      if all(stays):   # stay until the next flight, so the itinerary is consistent
        stays = [dataclasses.replace(s, nights=_days_between(s.leg[2], nxt.leg[2]))
                 for s, nxt in zip(stays, stays[1:])] + stays[-1:]
    else:
      kwargs = {"highest_rated": kind == "highest_rated",
                "without": "?" if kind == "exclusion" else None}
      stays = [_random_stay(rng, data, rng.choice(_legs(data)), **kwargs)]
    if all(stays):
      return stays
  raise RuntimeError(f"no {kind} trip found in the travel tables")


def _expert_stay(expert: ScriptedExpert, stay: Stay) -> int | float:
  origin, destination, date = stay.leg
  flights = expert.value("find_flights", from_location=origin, to_location=destination, date=date)
  prices = [f["price"] for f in flights]
  flight = expert.value("min", args=prices) if len(prices) > 1 else prices[0]
  hotels = expert.value("book_hotel", location=destination, preferences=list(stay.preferences))
  hotels = [h for h in hotels if stay.without is None or stay.without not in h["preferences"]]
  if stay.highest_rated:
    hotel_price = max(hotels, key=lambda h: h["rating"])["price_per_night"]
  elif len(hotels) > 1:
    hotel_price = expert.value("min", args=[h["price_per_night"] for h in hotels])
  else:
    hotel_price = hotels[0]["price_per_night"]
  return expert.value("budget_calculator", flight_price=flight, hotel_price_per_night=hotel_price,
                      num_nights=stay.nights)


def _instruction(stays: list[Stay]) -> str:
  rule = "Always choose the cheaper flight" + (
      "." if any(s.highest_rated for s in stays) else " and the cheaper suitable hotel.")
  if len(stays) == 1:
    trip = f"Plan a trip {stays[0].describe()}."
  else:
    parts = [("first " if i == 0 else "then ") + s.describe() for i, s in enumerate(stays)]
    trip = "Plan a multi-city trip: " + "; ".join(parts) + "."
  return (f"You are at {stays[0].leg[0]}. {trip} {rule} Give me the total budget for the trip.")


# Task i of a seed is kind i % len(TASK_KINDS).
TASK_KINDS = ("cheapest", "highest_rated", "exclusion", "multi_city")


def _make_task(kind: str, rng: random.Random, data: TravelData,
               expert: ScriptedExpert) -> tuple[str, str, str]:
  stays = _plan(rng, data, kind)
  budgets = [_expert_stay(expert, s) for s in stays]
  answer = expert.call("sum", args=budgets) if len(budgets) > 1 else str(budgets[0])
  expected = sum(s.budget(data) for s in stays)
  return _instruction(stays), format_expected(expected), answer


def generate_benchmark_tasks(n: int, seed: int) -> list[BenchmarkTask]:
  data = generate_travel_data(seed)
  tasks = []
  for i in range(n):
    kind = TASK_KINDS[i % len(TASK_KINDS)]
    rng = random.Random(f"{ti.FAMILY}/{seed}/{i}")
    env_kwargs = {"family": ti.FAMILY, "seed": seed}
    expert = ScriptedExpert(CalculationEnv(**env_kwargs))
    instruction, expected, answer = _make_task(kind, rng, data, expert)
    tasks.append(expert.finish(answer, expected, f"calculation/{ti.FAMILY}/{kind}/{seed}-{i}",
                               "calculation", env_kwargs, instruction))
  return tasks

