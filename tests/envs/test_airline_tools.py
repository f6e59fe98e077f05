"""Airline tools on a hand-written tau-bench-layout database: state changes and error messages."""

import json

import pytest

from selfchallenge_jax import envs


@pytest.fixture
def env(airline_dir):
  return envs.make("airline", data_dir=airline_dir)


def call(env, name, **arguments):
  return env.call_tool(name, arguments)


ME = {"first_name": "Bo", "last_name": "Kim", "dob": "1980-01-02"}


def book(env, **overrides):
  arguments = dict(user_id="bo_kim_2", origin="SFO", destination="JFK", flight_type="one_way",
                   cabin="economy", flights=[{"flight_number": "HAT001", "date": "2024-05-20"}],
                   passengers=[ME], payment_methods=[{"payment_id": "credit_card_2", "amount": 100}],
                   total_baggages=0, nonfree_baggages=0, insurance="no")
  arguments.update(overrides)
  return env.call_tool("book_reservation", arguments)


def test_tool_set_matches_tau_bench(env):
  assert [t["function"]["name"] for t in env.tools] == sorted([
      "book_reservation", "calculate", "cancel_reservation", "get_reservation_details",
      "get_user_details", "list_all_airports", "search_direct_flight", "search_onestop_flight",
      "send_certificate", "think", "transfer_to_human_agents", "update_reservation_baggages",
      "update_reservation_flights", "update_reservation_passengers"])
  assert "2024-05-15 15:00:00 EST" in env.system_prompt


def test_lookups_and_search(env):
  assert json.loads(call(env, "get_user_details", user_id="bo_kim_2"))["membership"] == "silver"
  assert call(env, "get_user_details", user_id="x") == "Error: user not found"
  assert json.loads(call(env, "get_reservation_details", reservation_id="ABC123"))["cabin"] == "economy"
  assert call(env, "get_reservation_details", reservation_id="ZZZZZZ") == "Error: reservation not found"
  airports = json.loads(call(env, "list_all_airports"))
  assert len(airports) == 20 and airports["LGA"] == "LaGuardia"
  direct = json.loads(call(env, "search_direct_flight", origin="SFO", destination="JFK", date="2024-05-20"))
  assert [f["flight_number"] for f in direct] == ["HAT001"]
  assert "dates" not in direct[0] and direct[0]["prices"]["economy"] == 100
  assert json.loads(call(env, "search_direct_flight", origin="SFO", destination="JFK", date="2024-05-14")) == []
  # HAT003 lands at 01:00 the next day, so the connection is HAT004 on 2024-05-21.
  onestop = json.loads(call(env, "search_onestop_flight", origin="SFO", destination="JFK", date="2024-05-20"))
  assert [[leg["flight_number"], leg["date"]] for pair in onestop for leg in pair] == \
      [["HAT003", "2024-05-20"], ["HAT004", "2024-05-21"]]
  assert onestop[0][1]["prices"]["economy"] == 90


def test_book_reservation(env):
  result = json.loads(book(env, passengers=[ME, ME], insurance="yes", total_baggages=3,
                           nonfree_baggages=1, payment_methods=[
                               {"payment_id": "certificate_2", "amount": 150},
                               {"payment_id": "gift_card_2", "amount": 100},
                               {"payment_id": "credit_card_2", "amount": 60}]))
  assert result["reservation_id"] == "HATHAT"
  assert result["flights"] == [{"flight_number": "HAT001", "date": "2024-05-20", "price": 100,
                                "origin": "SFO", "destination": "JFK"}]
  user = env.state()["users"]["bo_kim_2"]
  assert "certificate_2" not in user["payment_methods"]  # a certificate is used up entirely
  assert user["payment_methods"]["gift_card_2"]["amount"] == 0
  assert user["reservations"] == ["ABC123", "HATHAT"]
  assert json.loads(book(env))["reservation_id"] == "HATHAU"


@pytest.mark.parametrize("overrides,error", [
    (dict(user_id="x"), "Error: user not found"),
    (dict(flights=[{"flight_number": "HAT999", "date": "2024-05-20"}]), "Error: flight HAT999 not found"),
    (dict(flights=[{"flight_number": "HAT001", "date": "2024-06-01"}]),
     "Error: flight HAT001 not found on date 2024-06-01"),
    (dict(flights=[{"flight_number": "HAT001", "date": "2024-05-14"}]),
     "Error: flight HAT001 not available on date 2024-05-14"),
    (dict(flights=[{"flight_number": "HAT001", "date": "2024-05-21"}]), "Error: not enough seats on flight HAT001"),
    (dict(payment_methods=[{"payment_id": "paypal_2", "amount": 100}]), "Error: payment method paypal_2 not found"),
    (dict(payment_methods=[{"payment_id": "gift_card_2", "amount": 100}], insurance="yes"),
     "Error: payment amount does not add up, total price is 130, but paid 100"),
    (dict(cabin="first"), "Error: invalid cabin 'first'; expected one of basic_economy, economy, business"),
    (dict(flights=[{"flight_number": "HAT001"}]),
     "Error: each flight must be an object with flight_number, date; got {'flight_number': 'HAT001'}"),
])
def test_book_reservation_errors(env, overrides, error):
  before = env.state()
  assert book(env, **overrides) == error
  assert env.state() == before


def test_gift_card_balance_checked(env):
  assert book(env, passengers=[ME, ME], payment_methods=[{"payment_id": "gift_card_2", "amount": 200}]) == \
      "Error: not enough balance in payment method gift_card_2"


def test_cancel_reservation(env):
  result = json.loads(call(env, "cancel_reservation", reservation_id="ABC123"))
  assert result["status"] == "cancelled"
  assert result["payment_history"][-1] == {"payment_id": "credit_card_2", "amount": -440}
  assert call(env, "cancel_reservation", reservation_id="NOPE00") == "Error: reservation not found"


def test_update_flights_keeps_kept_segment_price(env):
  flights = [{"flight_number": "HAT001", "date": "2024-05-20"},
             {"flight_number": "HAT002", "date": "2024-05-25"}]
  result = json.loads(call(env, "update_reservation_flights", reservation_id="ABC123",
                           cabin="business", flights=flights, payment_id="credit_card_2"))
  # business 300 + 400 per passenger, minus the 100 + 120 already paid, for 2 passengers
  assert result["payment_history"][-1] == {"payment_id": "credit_card_2", "amount": 960}
  assert [f["price"] for f in result["flights"]] == [300, 400]
  assert call(env, "update_reservation_flights", reservation_id="ABC123", cabin="economy",
              flights=flights, payment_id="certificate_2") == \
      "Error: certificate cannot be used to update reservation"
  assert call(env, "update_reservation_flights", reservation_id="ABC123", cabin="first",
              flights=flights, payment_id="credit_card_2").startswith("Error: invalid cabin")


def test_update_flights_same_itinerary_costs_nothing(env):
  flights = [{"flight_number": "HAT001", "date": "2024-05-20"},
             {"flight_number": "HAT002", "date": "2024-05-25"}]
  result = json.loads(call(env, "update_reservation_flights", reservation_id="ABC123",
                           cabin="economy", flights=flights, payment_id="gift_card_2"))
  assert len(result["payment_history"]) == 1


def test_update_flights_gift_card_must_cover(env):
  flights = [{"flight_number": "HAT001", "date": "2024-05-20"},
             {"flight_number": "HAT002", "date": "2024-05-25"}]
  assert call(env, "update_reservation_flights", reservation_id="ABC123", cabin="business",
              flights=flights, payment_id="gift_card_2") == "Error: gift card balance is not enough"


def test_update_passengers(env):
  new = [ME, {"first_name": "Cy", "last_name": "Kim", "dob": "1990-05-05"}]
  result = json.loads(call(env, "update_reservation_passengers", reservation_id="ABC123", passengers=new))
  assert result["passengers"] == new
  assert call(env, "update_reservation_passengers", reservation_id="ABC123", passengers=[ME]) == \
      "Error: number of passengers does not match"


def test_update_baggages(env):
  result = json.loads(call(env, "update_reservation_baggages", reservation_id="ABC123",
                           total_baggages=4, nonfree_baggages=2, payment_id="gift_card_2"))
  assert (result["total_baggages"], result["nonfree_baggages"]) == (4, 2)
  assert result["payment_history"][-1] == {"payment_id": "gift_card_2", "amount": 100}
  assert env.state()["users"]["bo_kim_2"]["payment_methods"]["gift_card_2"]["amount"] == 0
  assert call(env, "update_reservation_baggages", reservation_id="ABC123", total_baggages=5,
              nonfree_baggages=3, payment_id="gift_card_2") == "Error: gift card balance is not enough"
  assert call(env, "update_reservation_baggages", reservation_id="ABC123", total_baggages=5,
              nonfree_baggages=3, payment_id="x") == "Error: payment method not found"


def test_send_certificate(env):
  assert call(env, "send_certificate", user_id="bo_kim_2", amount=100) == \
      "Certificate certificate_3221322 added to user bo_kim_2 with amount 100."
  assert call(env, "send_certificate", user_id="bo_kim_2", amount=50).startswith(
      "Certificate certificate_3221323 added")
  assert env.state()["users"]["bo_kim_2"]["payment_methods"]["certificate_3221322"] == \
      {"source": "certificate", "amount": 100, "id": "certificate_3221322"}
  assert call(env, "send_certificate", user_id="nobody", amount=50) == "Error: user not found"


def test_malformed_calls(env):
  assert env.call_tool("book_reservation", {"user_id": "bo_kim_2"}).startswith(
      "Error: book_reservation: missing required argument(s): origin")
  assert "must be of type integer" in env.call_tool("update_reservation_baggages", {
      "reservation_id": "ABC123", "total_baggages": "2", "nonfree_baggages": 0, "payment_id": "x"})
  assert call(env, "search_onestop_flight", origin="SFO", destination="JFK", date="May 20") == "[]"
  assert env.call_tool("fly_me", None).startswith("Error: unknown tool")
