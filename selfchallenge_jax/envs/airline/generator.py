"""Seeded generator of an airline database in tau-bench's layout (users, flights, reservations).

    flights[number]  = {"flight_number", "origin", "destination", "scheduled_departure_time_est",
                        "scheduled_arrival_time_est" ("HH:MM:SS", "+1" if next day),
                        "dates": {"YYYY-MM-DD": {"status", ...}}}
                       status "available" carries "available_seats" and "prices" per cabin;
                       past days are "landed" (or "cancelled"), today may be "flying"/"delayed"/...
    users[user_id]   = {"name", "address" (with "province"), "email", "dob", "payment_methods",
                        "saved_passengers", "membership", "reservations"}
    reservations[id] = {"reservation_id", "user_id", "origin", "destination", "flight_type",
                        "cabin", "flights": [{"origin", "destination", "flight_number", "date",
                        "price"}], "passengers", "payment_history": [{"payment_id", "amount"}],
                        "created_at", "total_baggages", "nonfree_baggages", "insurance"}
"""

from __future__ import annotations

import datetime
import random
import string
from typing import Any

from selfchallenge_jax.envs import tau_people
from selfchallenge_jax.envs.airline.airports import AIRPORTS, CABINS, FIRST_DATE, NOW, NUM_DATES

_PRICE = {"basic_economy": (50, 100), "economy": (100, 200), "business": (200, 500)}


def dates() -> list[str]:
  first = datetime.date.fromisoformat(FIRST_DATE)
  return [(first + datetime.timedelta(days=i)).isoformat() for i in range(NUM_DATES)]


def generate_airline_data(seed: int = 0, num_users: int = 300, num_flights: int = 200,
                          num_reservations: int = 1000) -> dict[str, Any]:
  rng = random.Random(f"airline-{seed}")
  flights = _flights(rng, num_flights)
  users = _users(rng, num_users)
  reservations = _reservations(rng, num_reservations, users, flights)
  return {"users": users, "flights": flights, "reservations": reservations}


def _clock(minutes: int) -> str:
  suffix = "+1" if minutes >= 24 * 60 else ""
  minutes %= 24 * 60
  return f"{minutes // 60:02d}:{minutes % 60:02d}:00{suffix}"


def _flights(rng: random.Random, count: int) -> dict[str, Any]:
  codes = list(AIRPORTS)
  pairs = [(a, b) for a in codes for b in codes if a < b]
  rng.shuffle(pairs)
  today = NOW[:10]
  flights: dict[str, Any] = {}
  # Flights come in both directions of a route, so most round trips have a direct return.
  routes = [route for a, b in pairs for route in ((a, b), (b, a))][:count]
  for index, (origin, destination) in enumerate(routes, start=1):
    departure = rng.randint(0, 23) * 60
    arrival = departure + rng.choice([60, 90, 120, 150, 180, 240, 300, 360])
    by_date: dict[str, Any] = {}
    for day in dates():
      if day < today:
        by_date[day] = ({"status": "cancelled"} if rng.random() < 0.03 else
                        {"status": "landed", "actual_departure_time_est": f"{day}T{_clock(departure)[:8]}",
                         "actual_arrival_time_est": f"{day}T{_clock(arrival)[:8]}"})
      elif day == today:
        by_date[day] = {"status": rng.choice(["landed", "flying", "on time", "delayed"])}
      else:
        by_date[day] = {
            "status": "available",
            "available_seats": {c: rng.randint(0, 20) for c in CABINS},
            "prices": {c: rng.randint(*_PRICE[c]) for c in CABINS},
        }
    number = f"HAT{index:03d}"
    flights[number] = {
        "flight_number": number, "origin": origin, "destination": destination,
        "scheduled_departure_time_est": _clock(departure),
        "scheduled_arrival_time_est": _clock(arrival), "dates": by_date,
    }
  return flights


def _users(rng: random.Random, count: int) -> dict[str, Any]:
  users: dict[str, Any] = {}
  taken: set[str] = set()
  for _ in range(count):
    first, last, user_id = tau_people.person(rng, taken)
    methods: dict[str, Any] = {}
    for _ in range(rng.randint(1, 4)):
      source = rng.choice(["credit_card", "gift_card", "certificate"])
      if source == "credit_card":
        method = tau_people.credit_card(rng, taken)
      else:
        pid = tau_people.unique_number_id(rng, f"{source}_", 7, taken)
        amount = rng.randint(0, 300) if source == "gift_card" else rng.choice([100, 150, 250, 500])
        method = {"source": source, "amount": amount, "id": pid}
      methods[method["id"]] = method
    saved = [{"first_name": rng.choice(tau_people.FIRST_NAMES),
              "last_name": rng.choice(tau_people.LAST_NAMES), "dob": tau_people.date_of_birth(rng)}
             for _ in range(rng.randint(0, 2))]
    users[user_id] = {
        "name": {"first_name": first, "last_name": last},
        "address": tau_people.address(rng, state_key="province"),
        "email": tau_people.email(rng, first, last),
        "dob": tau_people.date_of_birth(rng),
        "payment_methods": methods,
        "saved_passengers": saved,
        "membership": rng.choice(["regular", "silver", "gold"]),
        "reservations": [],
    }
  return users


def _reservation_id(rng: random.Random, taken: dict[str, Any]) -> str:
  while True:
    value = "".join(rng.choices(string.ascii_uppercase + string.digits, k=6))
    if value not in taken and not value.startswith("HATHA"):  # HATHA* is kept for new bookings
      return value


def _reservations(rng: random.Random, count: int, users: dict[str, Any],
                  flights: dict[str, Any]) -> dict[str, Any]:
  by_route = {(f["origin"], f["destination"]): f for f in flights.values()}
  all_dates = dates()
  reservations: dict[str, Any] = {}
  user_ids = list(users)
  for _ in range(count):
    user_id = rng.choice(user_ids)
    user = users[user_id]
    outbound = rng.choice(list(flights.values()))
    origin, destination = outbound["origin"], outbound["destination"]
    back = by_route.get((destination, origin))
    round_trip = back is not None and rng.random() < 0.5
    start = rng.randrange(len(all_dates) - 4)
    legs = [(outbound, all_dates[start])]
    if round_trip:
      legs.append((back, all_dates[start + rng.randint(1, 3)]))
    cabin = rng.choice(CABINS)
    leg_records = []
    for flight, day in legs:
      info = flight["dates"][day]
      price = info["prices"][cabin] if "prices" in info else rng.randint(*_PRICE[cabin])
      leg_records.append({"origin": flight["origin"], "destination": flight["destination"],
                          "flight_number": flight["flight_number"], "date": day, "price": price})
    passengers = [{"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"],
                   "dob": user["dob"]}] + [dict(p) for p in user["saved_passengers"]]
    passengers = passengers[:rng.randint(1, len(passengers))]
    insurance = rng.choice(["yes", "no"])
    total = sum(leg["price"] for leg in leg_records) * len(passengers)
    total += 30 * len(passengers) * (insurance == "yes")
    cards = [m for m, v in user["payment_methods"].items() if v["source"] == "credit_card"]
    payment_id = rng.choice(cards or list(user["payment_methods"]))
    created = datetime.datetime.fromisoformat(NOW) - datetime.timedelta(
        minutes=rng.randint(60, 14 * 24 * 60))
    reservation_id = _reservation_id(rng, reservations)
    reservations[reservation_id] = {
        "reservation_id": reservation_id, "user_id": user_id, "origin": origin,
        "destination": destination, "flight_type": "round_trip" if round_trip else "one_way",
        "cabin": cabin, "flights": leg_records, "passengers": passengers,
        "payment_history": [{"payment_id": payment_id, "amount": total}],
        "created_at": created.isoformat(timespec="seconds"),
        "total_baggages": rng.randint(0, 2 * len(passengers)), "nonfree_baggages": 0,
        "insurance": insurance,
    }
    user["reservations"].append(reservation_id)
  return reservations
