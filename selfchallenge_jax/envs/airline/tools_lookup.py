"""Airline read-only tools: users, reservations, airports and flight search."""

from __future__ import annotations

import datetime
import json
from typing import Any

from selfchallenge_jax.envs.airline.airports import AIRPORTS
from selfchallenge_jax.envs.base import ToolError

Data = dict[str, Any]


def get_user_details(data: Data, user_id: str) -> str:
  if user_id not in data["users"]:
    raise ToolError("user not found")
  return json.dumps(data["users"][user_id])


def get_reservation_details(data: Data, reservation_id: str) -> str:
  if reservation_id not in data["reservations"]:
    raise ToolError("reservation not found")
  return json.dumps(data["reservations"][reservation_id])


def list_all_airports(data: Data) -> str:
  del data
  return json.dumps(AIRPORTS)


def _on_date(flight: dict[str, Any], date: str) -> dict[str, Any]:
  """The flight without its calendar, merged with that date's status, seats and prices."""
  result = {k: v for k, v in flight.items() if k != "dates"}
  result.update(flight["dates"][date])
  return result


def _bookable(flight: dict[str, Any], date: str) -> bool:
  return flight["dates"].get(date, {}).get("status") == "available"


def search_direct_flight(data: Data, origin: str, destination: str, date: str) -> str:
  found = [_on_date(f, date) for f in data["flights"].values()
           if f["origin"] == origin and f["destination"] == destination and _bookable(f, date)]
  return json.dumps(found)


def _next_day(date: str) -> str:
  try:
    return (datetime.date.fromisoformat(date) + datetime.timedelta(days=1)).isoformat()
  except ValueError as e:
    raise ToolError(f"invalid date {date!r}, expected YYYY-MM-DD") from e


def search_onestop_flight(data: Data, origin: str, destination: str, date: str) -> str:
  """Pairs [first leg, second leg] via one connection; each leg carries its own "date".

  The second leg leaves on the day the first one lands ("+1" arrivals land the next day), no
  earlier than that arrival's time of day.
  """
  flights = data["flights"].values()
  found = []
  for first in flights:
    if first["origin"] != origin or not _bookable(first, date):
      continue
    arrival = first["scheduled_arrival_time_est"]
    date2 = _next_day(date) if "+1" in arrival else date
    for second in flights:
      if (second["origin"] == first["destination"] and second["destination"] == destination
          and arrival[:8] <= second["scheduled_departure_time_est"][:8]
          and _bookable(second, date2)):
        found.append([{**_on_date(first, date), "date": date},
                      {**_on_date(second, date2), "date": date2}])
  return json.dumps(found)
