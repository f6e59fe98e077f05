"""Flight and hotel tables for the travel itinerary family: loaded from JSON or generated from a seed.

File layout (the tables of M3ToolEval's travel_itinerary_planning.py, as JSON):

    {"flights": [{"from_location": "A", "to_location": "B", "date": "2023-11-10", "price": 350}, ...],
     "hotels":  [{"location": "A", "preferences": ["wifi", "pool"], "price_per_night": 120,
                  "rating": 4}, ...]}

Locations may carry literal double quotes as M3ToolEval's do ('"A"'); look-ups ignore them.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import random
from typing import Any

AMENITIES = ("wifi", "pool", "gym", "breakfast")
CITY_NAMES = (
    "Arborville", "Brightwater", "Cinderport", "Dunmore", "Eastholm", "Frostvale", "Glenhaven",
    "Highcliff", "Ironbridge", "Juniper Bay", "Kingsreach", "Lakemont", "Marrowick", "Northfield",
    "Oakenshaw", "Pinecrest", "Queensgate", "Redwater", "Silverton", "Thornbury",
)
_FLIGHT_KEYS = {"from_location": str, "to_location": str, "date": str, "price": (int, float)}
_HOTEL_KEYS = {"location": str, "preferences": list, "price_per_night": (int, float),
               "rating": (int, float)}


@dataclasses.dataclass(frozen=True)
class TravelData:
  flights: tuple[dict[str, Any], ...]
  hotels: tuple[dict[str, Any], ...]

  @property
  def locations(self) -> list[str]:
    """Every location in the tables, in order of first appearance, as stored."""
    seen: dict[str, None] = {}
    for f in self.flights:
      seen.setdefault(f["from_location"], None)
      seen.setdefault(f["to_location"], None)
    for h in self.hotels:
      seen.setdefault(h["location"], None)
    return list(seen)

  def to_json(self) -> dict[str, Any]:
    return {"flights": [dict(f) for f in self.flights], "hotels": [dict(h) for h in self.hotels]}


def load_travel_data(path: str | pathlib.Path) -> TravelData:
  """Reads the JSON layout above; raises FileNotFoundError / ValueError with the file's name."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"travel data file not found: {path}")
  try:
    raw = json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise ValueError(f"travel data file {path} is not valid JSON: {e}") from None
  if not isinstance(raw, dict) or "flights" not in raw or "hotels" not in raw:
    raise ValueError(f"travel data file {path} must be an object with 'flights' and 'hotels'")
  flights = tuple(_checked(r, _FLIGHT_KEYS, f"{path}: flights[{i}]")
                  for i, r in enumerate(raw["flights"]))
  hotels = tuple(_checked(r, _HOTEL_KEYS, f"{path}: hotels[{i}]")
                 for i, r in enumerate(raw["hotels"]))
  return TravelData(flights, hotels)


def _checked(record: Any, keys: dict[str, Any], where: str) -> dict[str, Any]:
  if not isinstance(record, dict):
    raise ValueError(f"{where} must be an object")
  for key, types in keys.items():
    if key not in record:
      raise ValueError(f"{where} is missing {key!r}")
    if not isinstance(record[key], types) or isinstance(record[key], bool):
      raise ValueError(f"{where}.{key} has the wrong type ({type(record[key]).__name__})")
  return dict(record)


def generate_travel_data(seed: int) -> TravelData:
  """A seeded world of 6 cities: flights laid along multi-leg routes (so multi-city trips exist,
  often with a cheaper and a dearer flight on the same leg) and 2-4 hotels per city."""
  rng = random.Random(f"travel_data/{seed}")
  cities = rng.sample(CITY_NAMES, 6)
  start = datetime.date(2023, 6, 1) + datetime.timedelta(days=rng.randrange(365))
  flights: list[dict[str, Any]] = []
  for _ in range(12):
    day = start + datetime.timedelta(days=rng.randrange(180))
    here = rng.choice(cities)
    for _ in range(rng.randint(1, 4)):
      there = rng.choice([c for c in cities if c != here])
      for _ in range(rng.choice((1, 1, 2, 3))):
        flights.append({"from_location": here, "to_location": there, "date": day.isoformat(),
                        "price": rng.randrange(120, 960, 5)})
      here = there
      day += datetime.timedelta(days=rng.randint(1, 6))
  rng.shuffle(flights)
  hotels: list[dict[str, Any]] = []
  for city in cities:
    for _ in range(rng.randint(2, 4)):
      prefs = [a for a in AMENITIES if rng.random() < 0.5] or [rng.choice(AMENITIES)]
      hotels.append({"location": city, "preferences": prefs,
                     "price_per_night": rng.randrange(45, 260, 5), "rating": rng.randint(3, 5)})
  return TravelData(tuple(flights), tuple(hotels))
