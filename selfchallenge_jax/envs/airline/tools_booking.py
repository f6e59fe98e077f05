"""Airline tools that create or end money flows: booking, cancelling, sending a certificate.

As in tau-bench the tools check what the database can check (existence, availability, seats,
balances, totals); the policy rules (who may cancel, baggage allowance, ...) are the agent's job.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from selfchallenge_jax.envs.airline.airports import BAG_PRICE, CABINS, INSURANCE_PRICE
from selfchallenge_jax.envs.base import ToolError

Data = dict[str, Any]
# Deterministic ids for new bookings and certificates, so that an agent's episode and the gold
# replay create identical records (tau-bench's scheme, extended past three).
NEW_RESERVATION_IDS = tuple(f"HATHA{c}" for c in "TUVWXYZ")
NEW_CERTIFICATE_IDS = tuple(f"certificate_{n}" for n in range(3221322, 3221329))
CREATED_AT = "2024-05-15T15:00:00"


def require_fields(entries: list[Any], fields: tuple[str, ...], what: str) -> None:
  for entry in entries:
    if not isinstance(entry, dict) or any(f not in entry for f in fields):
      raise ToolError(f"each {what} must be an object with {', '.join(fields)}; got {entry!r}")


def check_cabin(cabin: str) -> None:
  if cabin not in CABINS:
    raise ToolError(f"invalid cabin {cabin!r}; expected one of {', '.join(CABINS)}")


def price_leg(data: Data, leg: dict[str, Any], cabin: str, passengers: int) -> None:
  """Checks the leg is bookable for `passengers` and fills its price, origin and destination."""
  number, date = leg["flight_number"], leg["date"]
  if number not in data["flights"]:
    raise ToolError(f"flight {number} not found")
  flight = data["flights"][number]
  if date not in flight["dates"]:
    raise ToolError(f"flight {number} not found on date {date}")
  on_date = flight["dates"][date]
  if on_date["status"] != "available":
    raise ToolError(f"flight {number} not available on date {date}")
  if on_date["available_seats"][cabin] < passengers:
    raise ToolError(f"not enough seats on flight {number}")
  leg["price"] = on_date["prices"][cabin]
  leg["origin"], leg["destination"] = flight["origin"], flight["destination"]


def book_reservation(data: Data, user_id: str, origin: str, destination: str, flight_type: str,
                     cabin: str, flights: list[dict[str, Any]], passengers: list[dict[str, Any]],
                     payment_methods: list[dict[str, Any]], total_baggages: int,
                     nonfree_baggages: int, insurance: str) -> str:
  if user_id not in data["users"]:
    raise ToolError("user not found")
  user = data["users"][user_id]
  check_cabin(cabin)
  require_fields(flights, ("flight_number", "date"), "flight")
  require_fields(passengers, ("first_name", "last_name", "dob"), "passenger")
  require_fields(payment_methods, ("payment_id", "amount"), "payment method")
  reservation_id = next((r for r in NEW_RESERVATION_IDS if r not in data["reservations"]), None)
  if reservation_id is None:
    raise ToolError("too many new reservations in this conversation")
  legs = copy.deepcopy(flights)
  total = 0
  for leg in legs:
    price_leg(data, leg, cabin, len(passengers))
    total += leg["price"] * len(passengers)
  if insurance == "yes":
    total += INSURANCE_PRICE * len(passengers)
  total += BAG_PRICE * nonfree_baggages
  for payment in payment_methods:
    payment_id = payment["payment_id"]
    if payment_id not in user["payment_methods"]:
      raise ToolError(f"payment method {payment_id} not found")
    method = user["payment_methods"][payment_id]
    if method["source"] in ("gift_card", "certificate") and method["amount"] < payment["amount"]:
      raise ToolError(f"not enough balance in payment method {payment_id}")
  paid = sum(payment["amount"] for payment in payment_methods)
  if paid != total:
    raise ToolError(f"payment amount does not add up, total price is {total}, but paid {paid}")
  for payment in payment_methods:
    method = user["payment_methods"][payment["payment_id"]]
    if method["source"] == "gift_card":
      method["amount"] -= payment["amount"]
    elif method["source"] == "certificate":  # a certificate's remainder is not refundable
      del user["payment_methods"][payment["payment_id"]]
  reservation = {
      "reservation_id": reservation_id, "user_id": user_id, "origin": origin,
      "destination": destination, "flight_type": flight_type, "cabin": cabin, "flights": legs,
      "passengers": copy.deepcopy(passengers), "payment_history": copy.deepcopy(payment_methods),
      "created_at": CREATED_AT, "total_baggages": total_baggages,
      "nonfree_baggages": nonfree_baggages, "insurance": insurance,
  }
  data["reservations"][reservation_id] = reservation
  user["reservations"].append(reservation_id)
  return json.dumps(reservation)


def cancel_reservation(data: Data, reservation_id: str) -> str:
  if reservation_id not in data["reservations"]:
    raise ToolError("reservation not found")
  reservation = data["reservations"][reservation_id]
  refunds = [{"payment_id": p["payment_id"], "amount": -p["amount"]}
             for p in reservation["payment_history"]]
  reservation["payment_history"].extend(refunds)
  reservation["status"] = "cancelled"
  return json.dumps(reservation)


def send_certificate(data: Data, user_id: str, amount: float) -> str:
  if user_id not in data["users"]:
    raise ToolError("user not found")
  methods = data["users"][user_id]["payment_methods"]
  payment_id = next((c for c in NEW_CERTIFICATE_IDS if c not in methods), None)
  if payment_id is None:
    raise ToolError("too many certificates sent to this user")
  methods[payment_id] = {"source": "certificate", "amount": amount, "id": payment_id}
  return f"Certificate {payment_id} added to user {user_id} with amount {amount}."
