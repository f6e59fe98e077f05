"""Travel itinerary tools (M3ToolEval `travel_itinerary_planning`) over a TravelData table."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs.base import ToolError
from selfchallenge_jax.envs.calculation.toolspec import (INTEGER, NUMBER, NUMBER_ARRAY, STRING,
                                                         Tool, make_tool, number_list)
from selfchallenge_jax.envs.calculation.travel_data import TravelData

FAMILY = "travel_itinerary_planning"
Number = int | float


def _bare(location: str) -> str:
  return location.strip('"')   # M3ToolEval stores locations as '"A"' and accepts "A" or '"A"'


class TravelAgency:
  """The travel tools bound to one table; remembers every search and hotel booking (for state())."""

  def __init__(self, data: TravelData) -> None:
    self.data = data
    self.flight_searches: list[dict[str, Any]] = []
    self.hotel_bookings: list[dict[str, Any]] = []
    self._supported = {_bare(loc) for loc in data.locations}

  def _check(self, location: str, kind: str, label: str) -> str:
    bare = _bare(location)
    if bare not in self._supported:
      raise ToolError(f"{kind} [{bare}] is not supported. "
                      f"Supported {label}: {self.data.locations}")
    return bare

  def find_flights(self, from_location: str, to_location: str, date: str) -> list[dict[str, Any]]:
    origin = self._check(from_location, "Origin", "from_locations")
    destination = self._check(to_location, "Destination", "to_locations")
    found = [dict(f) for f in self.data.flights
             if _bare(f["from_location"]) == origin and _bare(f["to_location"]) == destination
             and f["date"] == date]
    self.flight_searches.append({"from_location": origin, "to_location": destination,
                                 "date": date, "num_results": len(found)})
    return found

  def book_hotel(self, location: str, preferences: list[str] | None = None) -> list[dict[str, Any]]:
    place = self._check(location, "Location", "locations")
    preferences = list(preferences or [])
    if not all(isinstance(p, str) for p in preferences):
      raise ToolError("preferences must be a list of strings.")
    found = [dict(h) for h in self.data.hotels
             if _bare(h["location"]) == place and all(p in h["preferences"] for p in preferences)]
    self.hotel_bookings.append({"location": place, "preferences": preferences,
                                "hotels": [dict(h) for h in found]})
    return found

  def tools(self) -> tuple[Tool, ...]:
    return (
        make_tool(self.find_flights, "find_flights",
                  "Finds flights based on source, destination and date (YYYY-MM-DD). Returns a list "
                  'of flights, each a dictionary with keys "from_location", "to_location", "date" '
                  'and "price". Signature: find_flights(from_location: str, to_location: str, '
                  "date: str) -> List[Dict]",
                  {"from_location": STRING, "to_location": STRING, "date": STRING}),
        make_tool(self.book_hotel, "book_hotel",
                  "Books a hotel based on location and preferences (e.g. wifi, pool, gym). Returns "
                  'the list of suitable hotels, each a dictionary with keys "location", '
                  '"preferences", "price_per_night" and "rating". Signature: '
                  "book_hotel(location: str, *preferences: str) -> List[Dict]",
                  {"location": STRING,
                   "preferences": {"type": "array", "items": STRING}},
                  required=["location"]),
        make_tool(budget_calculator, "budget_calculator",
                  "Calculates the total budget for a trip. Signature: budget_calculator("
                  "flight_price: float, hotel_price_per_night: float, num_nights: int) -> float",
                  {"flight_price": NUMBER, "hotel_price_per_night": NUMBER,
                   "num_nights": INTEGER}),
        make_tool(max_of, "max", "Finds the maximum value among the given arguments. "
                  "Signature: max(*args: float) -> float", {"args": NUMBER_ARRAY}),
        make_tool(min_of, "min", "Finds the minimum value among the given arguments. "
                  "Signature: min(*args: float) -> float", {"args": NUMBER_ARRAY}),
        make_tool(sum_of, "sum", "Sums the given arguments. Signature: sum(*args: float) -> float",
                  {"args": NUMBER_ARRAY}),
    )


def budget_calculator(flight_price: Number, hotel_price_per_night: Number,
                      num_nights: int) -> Number:
  return flight_price + hotel_price_per_night * num_nights


def max_of(args: list[Number]) -> Number:
  return max(number_list(args))


def min_of(args: list[Number]) -> Number:
  return min(number_list(args))


def sum_of(args: list[Number]) -> Number:
  return sum(number_list(args, allow_empty=True))   # M3ToolEval: sum() of nothing is 0
