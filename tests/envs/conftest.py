"""Tiny hand-written databases in tau-bench's file layout, so tool tests know every number."""

import json

import pytest


def _write(directory, tables):
  directory.mkdir(parents=True, exist_ok=True)
  for name, value in tables.items():
    (directory / f"{name}.json").write_text(json.dumps(value))
  return str(directory)


def _address(zip_code):
  return {"address1": "1 Main Street", "address2": "Suite 1", "city": "Austin", "country": "USA",
          "state": "TX", "zip": zip_code}


def retail_tables():
  shirt = {"name": "T-Shirt", "product_id": "100", "variants": {
      "1001": {"item_id": "1001", "options": {"color": "blue"}, "available": True, "price": 20.0},
      "1002": {"item_id": "1002", "options": {"color": "red"}, "available": True, "price": 25.5},
      "1003": {"item_id": "1003", "options": {"color": "green"}, "available": False, "price": 19.0}}}
  lamp = {"name": "Desk Lamp", "product_id": "200", "variants": {
      "2001": {"item_id": "2001", "options": {"brightness": "low"}, "available": True, "price": 50.0},
      "2002": {"item_id": "2002", "options": {"brightness": "high"}, "available": True, "price": 80.0}}}
  users = {"ann_lee_1": {
      "name": {"first_name": "Ann", "last_name": "Lee"}, "address": _address("78701"),
      "email": "ann.lee@example.com",
      "payment_methods": {
          "credit_card_1": {"source": "credit_card", "brand": "visa", "last_four": "1111",
                            "id": "credit_card_1"},
          "gift_card_1": {"source": "gift_card", "balance": 10.0, "id": "gift_card_1"},
          "paypal_1": {"source": "paypal", "id": "paypal_1"}},
      "orders": ["#W1", "#W2", "#W3"]}}

  def order(order_id, status, items, method, amount):
    return {"order_id": order_id, "user_id": "ann_lee_1", "address": _address("78701"),
            "items": items, "fulfillments": [], "status": status,
            "payment_history": [{"transaction_type": "payment", "amount": amount,
                                 "payment_method_id": method}]}

  blue = {"name": "T-Shirt", "product_id": "100", "item_id": "1001", "price": 20.0,
          "options": {"color": "blue"}}
  low = {"name": "Desk Lamp", "product_id": "200", "item_id": "2001", "price": 50.0,
         "options": {"brightness": "low"}}
  orders = {
      "#W1": order("#W1", "pending", [dict(blue), dict(blue)], "gift_card_1", 40.0),
      "#W2": order("#W2", "delivered", [dict(blue), dict(low)], "credit_card_1", 70.0),
      "#W3": order("#W3", "processed", [dict(low)], "paypal_1", 50.0),
  }
  return {"users": users, "orders": orders, "products": {"100": shirt, "200": lamp}}


def airline_tables():
  def day(status, seats=5, prices=(50, 100, 300)):
    if status != "available":
      return {"status": status}
    return {"status": "available",
            "available_seats": {"basic_economy": seats, "economy": seats, "business": seats},
            "prices": dict(zip(("basic_economy", "economy", "business"), prices))}

  def flight(number, origin, destination, dep, arr, dates):
    return {"flight_number": number, "origin": origin, "destination": destination,
            "scheduled_departure_time_est": dep, "scheduled_arrival_time_est": arr, "dates": dates}

  flights = {
      "HAT001": flight("HAT001", "SFO", "JFK", "08:00:00", "14:00:00",
                       {"2024-05-20": day("available"), "2024-05-21": day("available", seats=0),
                        "2024-05-14": day("landed")}),
      "HAT002": flight("HAT002", "JFK", "SFO", "09:00:00", "12:00:00",
                       {"2024-05-25": day("available", prices=(60, 120, 400))}),
      "HAT003": flight("HAT003", "SFO", "DEN", "22:00:00", "01:00:00+1",
                       {"2024-05-20": day("available", prices=(40, 80, 200))}),
      "HAT004": flight("HAT004", "DEN", "JFK", "06:00:00", "11:00:00",
                       {"2024-05-21": day("available", prices=(45, 90, 210)),
                        "2024-05-20": day("available")}),
  }
  users = {"bo_kim_2": {
      "name": {"first_name": "Bo", "last_name": "Kim"},
      "address": {**_address("94101"), "province": "CA"}, "email": "bo.kim@example.com",
      "dob": "1980-01-02",
      "payment_methods": {
          "credit_card_2": {"source": "credit_card", "brand": "visa", "last_four": "2222",
                            "id": "credit_card_2"},
          "gift_card_2": {"source": "gift_card", "amount": 100, "id": "gift_card_2"},
          "certificate_2": {"source": "certificate", "amount": 150, "id": "certificate_2"}},
      "saved_passengers": [], "membership": "silver", "reservations": ["ABC123"]}}
  reservations = {"ABC123": {
      "reservation_id": "ABC123", "user_id": "bo_kim_2", "origin": "SFO", "destination": "JFK",
      "flight_type": "round_trip", "cabin": "economy",
      "flights": [{"origin": "SFO", "destination": "JFK", "flight_number": "HAT001",
                   "date": "2024-05-20", "price": 100},
                  {"origin": "JFK", "destination": "SFO", "flight_number": "HAT002",
                   "date": "2024-05-25", "price": 120}],
      "passengers": [{"first_name": "Bo", "last_name": "Kim", "dob": "1980-01-02"},
                     {"first_name": "Al", "last_name": "Kim", "dob": "1982-03-04"}],
      "payment_history": [{"payment_id": "credit_card_2", "amount": 440}],
      "created_at": "2024-05-10T10:00:00", "total_baggages": 1, "nonfree_baggages": 0,
      "insurance": "no"}}
  return {"users": users, "flights": flights, "reservations": reservations}


@pytest.fixture
def retail_dir(tmp_path):
  return _write(tmp_path / "retail", retail_tables())


@pytest.fixture
def airline_dir(tmp_path):
  return _write(tmp_path / "airline", airline_tables())
