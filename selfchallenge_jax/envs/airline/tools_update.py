"""Airline tools that change an existing reservation: flights / cabin, passengers, baggage."""

from __future__ import annotations

import copy
import json
from typing import Any

from selfchallenge_jax.envs.airline.airports import BAG_PRICE
from selfchallenge_jax.envs.airline.tools_booking import check_cabin, price_leg, require_fields
from selfchallenge_jax.envs.base import ToolError

Data = dict[str, Any]


def _reservation(data: Data, reservation_id: str) -> dict[str, Any]:
  if reservation_id not in data["reservations"]:
    raise ToolError("reservation not found")
  return data["reservations"][reservation_id]


def _method_for_change(data: Data, reservation: dict[str, Any], payment_id: str,
                       amount: float) -> dict[str, Any]:
  """The payment method paying (or refunded) `amount`: no certificates, gift cards must cover."""
  methods = data["users"][reservation["user_id"]]["payment_methods"]
  if payment_id not in methods:
    raise ToolError("payment method not found")
  method = methods[payment_id]
  if method["source"] == "certificate":
    raise ToolError("certificate cannot be used to update reservation")
  if method["source"] == "gift_card" and method["amount"] < amount:
    raise ToolError("gift card balance is not enough")
  return method


def update_reservation_flights(data: Data, reservation_id: str, cabin: str,
                               flights: list[dict[str, Any]], payment_id: str) -> str:
  """Replaces the whole itinerary; kept segments (same flight, date and cabin) keep their price."""
  reservation = _reservation(data, reservation_id)
  check_cabin(cabin)
  require_fields(flights, ("flight_number", "date"), "flight")
  passengers = len(reservation["passengers"])
  legs = copy.deepcopy(flights)
  total = 0
  for leg in legs:
    kept = next((old for old in reservation["flights"]
                 if old["flight_number"] == leg["flight_number"] and old["date"] == leg["date"]
                 and cabin == reservation["cabin"]), None)
    if kept is not None:
      leg.update(price=kept["price"], origin=kept["origin"], destination=kept["destination"])
    else:
      price_leg(data, leg, cabin, passengers)
    total += leg["price"] * passengers
  total -= sum(old["price"] for old in reservation["flights"]) * passengers
  method = _method_for_change(data, reservation, payment_id, total)
  if method["source"] == "gift_card":
    method["amount"] -= total
  reservation["flights"] = legs
  # As in tau-bench: the cabin field itself is left as booked and seat counts are not updated.
  if total != 0:
    reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
  return json.dumps(reservation)


def update_reservation_passengers(data: Data, reservation_id: str,
                                  passengers: list[dict[str, Any]]) -> str:
  reservation = _reservation(data, reservation_id)
  require_fields(passengers, ("first_name", "last_name", "dob"), "passenger")
  if len(passengers) != len(reservation["passengers"]):
    raise ToolError("number of passengers does not match")
  reservation["passengers"] = copy.deepcopy(passengers)
  return json.dumps(reservation)


def update_reservation_baggages(data: Data, reservation_id: str, total_baggages: int,
                                nonfree_baggages: int, payment_id: str) -> str:
  reservation = _reservation(data, reservation_id)
  total = BAG_PRICE * max(0, nonfree_baggages - reservation["nonfree_baggages"])
  method = _method_for_change(data, reservation, payment_id, total)
  reservation["total_baggages"] = total_baggages
  reservation["nonfree_baggages"] = nonfree_baggages
  if method["source"] == "gift_card":
    method["amount"] -= total
  if total != 0:
    reservation["payment_history"].append({"payment_id": payment_id, "amount": total})
  return json.dumps(reservation)
