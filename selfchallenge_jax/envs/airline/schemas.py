"""JSON schemas of the 14 airline tools: tau-bench's names, arguments, types and enums."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs.base import function_schema
from selfchallenge_jax.envs.tau_common import COMMON_TOOL_SCHEMAS

_USER_ID = {"type": "string", "description": "The user id, such as 'sara_doe_496'."}
_RESERVATION_ID = {"type": "string", "description": "The reservation id, such as 'ZFA04Y'."}
_CABIN = {"type": "string", "enum": ["basic_economy", "economy", "business"]}
_PAYMENT_ID = {"type": "string", "description": "A payment id from the user's profile, such as "
               "'credit_card_7815826', 'gift_card_7815826' or 'certificate_7815826'."}
_DATE = {"type": "string", "description": "Date as 'YYYY-MM-DD', such as '2024-05-01'."}
_AIRPORT = {"type": "string", "description": "Three-letter airport code, such as 'JFK'."}
_FLIGHTS = {
    "type": "array",
    "description": "Flight segments, each a flight number and a date.",
    "items": {"type": "object", "properties": {
        "flight_number": {"type": "string", "description": "Flight number, such as 'HAT001'."},
        "date": _DATE}, "required": ["flight_number", "date"]},
}
_PASSENGERS = {
    "type": "array",
    "description": "Passengers, each with first name, last name and date of birth.",
    "items": {"type": "object", "properties": {
        "first_name": {"type": "string", "description": "First name, such as 'Noah'."},
        "last_name": {"type": "string", "description": "Last name, such as 'Brown'."},
        "dob": {"type": "string", "description": "Date of birth as 'YYYY-MM-DD'."}},
        "required": ["first_name", "last_name", "dob"]},
}
_SEARCH = {"origin": _AIRPORT, "destination": _AIRPORT, "date": _DATE}

_AIRLINE_ONLY: list[dict[str, Any]] = [
    function_schema(
        "book_reservation", "Book a new reservation for a user.",
        {"user_id": _USER_ID,
         "origin": {"type": "string", "description": "IATA code of the trip's origin, such as 'SFO'."},
         "destination": {"type": "string",
                         "description": "IATA code of the trip's destination, such as 'JFK'."},
         "flight_type": {"type": "string", "enum": ["one_way", "round_trip"]},
         "cabin": _CABIN,
         "flights": _FLIGHTS,
         "passengers": _PASSENGERS,
         "payment_methods": {
             "type": "array", "description": "How the total is paid: payment ids and amounts.",
             "items": {"type": "object", "properties": {
                 "payment_id": _PAYMENT_ID,
                 "amount": {"type": "number", "description": "The amount paid with it."}},
                 "required": ["payment_id", "amount"]}},
         "total_baggages": {"type": "integer", "description": "Total checked bags."},
         "nonfree_baggages": {"type": "integer", "description": "Checked bags that are paid for."},
         "insurance": {"type": "string", "enum": ["yes", "no"]}}),
    function_schema("cancel_reservation", "Cancel a whole reservation.",
                    {"reservation_id": _RESERVATION_ID}),
    function_schema("get_reservation_details", "Get the details of a reservation.",
                    {"reservation_id": _RESERVATION_ID}),
    function_schema("get_user_details", "Get a user's profile.", {"user_id": _USER_ID}),
    function_schema("list_all_airports", "List every airport code and its city.", {}),
    function_schema("search_direct_flight", "Search nonstop flights between two airports on a date.",
                    _SEARCH),
    function_schema("search_onestop_flight", "Search itineraries with one connection between two "
                    "airports, departing on a date.", _SEARCH),
    function_schema("send_certificate", "Send a travel certificate to a user. Use with care.",
                    {"user_id": _USER_ID,
                     "amount": {"type": "number", "description": "The certificate's amount."}}),
    function_schema(
        "update_reservation_baggages", "Change the checked-bag counts of a reservation.",
        {"reservation_id": _RESERVATION_ID,
         "total_baggages": {"type": "integer", "description": "New total of checked bags."},
         "nonfree_baggages": {"type": "integer", "description": "New number of paid bags."},
         "payment_id": _PAYMENT_ID}),
    function_schema(
        "update_reservation_flights", "Change the flights (and/or cabin) of a reservation.",
        {"reservation_id": _RESERVATION_ID, "cabin": _CABIN,
         "flights": dict(_FLIGHTS, description="Every segment of the whole new itinerary, "
                         "including the segments that do not change."),
         "payment_id": _PAYMENT_ID}),
    function_schema("update_reservation_passengers", "Change the passengers of a reservation "
                    "(their number stays the same).",
                    {"reservation_id": _RESERVATION_ID, "passengers": _PASSENGERS}),
]

# Sorted by name, as tau-bench lists its tools.
AIRLINE_TOOL_SCHEMAS: list[dict[str, Any]] = sorted(
    _AIRLINE_ONLY + COMMON_TOOL_SCHEMAS, key=lambda schema: schema["function"]["name"])
