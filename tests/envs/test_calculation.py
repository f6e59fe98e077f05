"""Calculation environment: every tool against M3ToolEval's outputs, family selection, bad input,
data loading, state and determinism."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.calculation import FAMILIES

DNA_TOOLS = {"count_nucleotides", "transcribe_dna_to_mrna", "translate_mrna_to_amino_acid",
             "find_max_nucleotide", "is_valid_dna_sequence", "reverse_transcribe_mrna_to_dna"}


def _call(env, name, **arguments):
  return env.call_tool(name, arguments)


@pytest.fixture
def env():
  return envs.make("calculation")


# ---- tools: outputs as M3ToolEval renders them (str of the result) ------------------------------
@pytest.mark.parametrize("name,arguments,expected", [
    # message_decoder (M3ToolEval's first task: hex -> ascii, reverse, caesar 5)
    ("convert_hex_to_ascii", {"hex_string": "7a686b7a686d666d686b"}, "zhkzhmfmhk"),
    ("reverse_string", {"string": "zhkzhmfmhk"}, "khmfmhzkhz"),
    ("caesar_decode", {"message": "khmfmhzkhz", "shift": 5}, "fchahcufcu"),
    ("caesar_decode", {"message": "Khoor Zruog!", "shift": 3}, "Hello World!"),
    ("caesar_decode", {"message": "abc", "shift": -1}, "bcd"),
    ("string_length", {"string": "hello"}, "5"),
    ("minimum_value", {"args": [3, 1.5, 2]}, "1.5"),
    ("maximum_value", {"args": [3, 4, 5]}, "5"),
    ("maximum_value", {"args": ["apple", "pear"]}, "pear"),
    # dna_sequencer
    ("count_nucleotides", {"dna_sequence": "AGCTAGCCGATGCA"}, "{'A': 4, 'G': 4, 'C': 4, 'T': 2}"),
    ("find_max_nucleotide", {"args": ["A", 4, "G", 4, "C", 4, "T", 2]}, "('A', 4)"),
    ("find_max_nucleotide", {"args": ["A", 2, "C", 5]}, "('C', 5)"),
    ("transcribe_dna_to_mrna", {"dna_sequence": "AAA"}, "UUU"),
    ("transcribe_dna_to_mrna", {"dna_sequence": "AGCTAGCGTA"}, "UCGAUCGCAU"),
    ("translate_mrna_to_amino_acid", {"mrna_sequence": "UCGAUCGCAU"}, "X-X-X-X"),
    ("translate_mrna_to_amino_acid", {"mrna_sequence": "AUGUUUUUCGG"},
     "Methionine-Phenylalanine-Phenylalanine-X"),
    ("translate_mrna_to_amino_acid", {"mrna_sequence": ""}, ""),
    ("is_valid_dna_sequence", {"dna_sequence": "AGCTTX"}, "False"),
    ("is_valid_dna_sequence", {"dna_sequence": "GATTACA"}, "True"),
    ("reverse_transcribe_mrna_to_dna", {"mrna_sequence": "AUGCUUUUC"}, "TACGAAAAG"),
    ("reverse_transcribe_mrna_to_dna", {"mrna_sequence": "AUGCGU"}, "TACGCA"),
    # trade_calculator (M3ToolEval's interstellar_trade_transaction: 8100.0)
    ("convert_currency", {"base_price": 5000, "conversion_rate": 1.5}, "7500.0"),
    ("calculate_tariff", {"price": 7500.0, "tariff_rate": 8}, "600.0"),
    ("estimate_final_value", {"price": 7500.0, "tariff": 600.0}, "8100.0"),
    ("calculate_tariff", {"price": 150, "tariff_rate": 7.5}, "11.25"),
    ("calculator", {"expression": "2 + (3 * 4)"}, "14"),
    ("calculator", {"expression": "100 * 50"}, "5000"),
    ("find_minimum", {"args": [3.5, 2, 7]}, "2"),
    ("find_maximum", {"args": [3.5, 2, 7]}, "7"),
    # travel_itinerary_planning (data-free tools)
    ("budget_calculator", {"flight_price": 450, "hotel_price_per_night": 120, "num_nights": 5},
     "1050"),
    ("max", {"args": [1, 2.5]}, "2.5"),
    ("min", {"args": [4, 3]}, "3"),
    ("sum", {"args": [1, 2, 3]}, "6"),
    ("sum", {"args": []}, "0"),
])
def test_tool_outputs(env, name, arguments, expected):
  assert env.call_tool(name, arguments) == expected


def test_long_outputs_are_truncated_like_m3tooleval(env):
  out = _call(env, "reverse_string", string="ab" * 1500)
  assert out == ("ba" * 1000) + "...\n[Output Truncated]"


# ---- travel tables --------------------------------------------------------------------------
# A few rows in M3ToolEval's own style: locations carry literal double quotes.
TRAVEL_TABLES = {
    "flights": [
        {"from_location": '"E"', "to_location": '"A"', "date": "2023-12-25", "price": 450},
        {"from_location": '"E"', "to_location": '"B"', "date": "2023-11-10", "price": 350},
        {"from_location": '"E"', "to_location": '"B"', "date": "2023-11-10", "price": 165},
    ],
    "hotels": [
        {"location": '"A"', "preferences": ["wifi", "pool"], "price_per_night": 120, "rating": 4},
        {"location": '"A"', "preferences": ["wifi"], "price_per_night": 50, "rating": 3},
        {"location": '"B"', "preferences": ["gym"], "price_per_night": 150, "rating": 4},
    ],
}


@pytest.fixture
def travel(tmp_path):
  path = tmp_path / "tables.json"
  path.write_text(json.dumps(TRAVEL_TABLES))
  return envs.make("calculation", family="travel_itinerary_planning", data_path=str(path))


def test_find_flights_from_loaded_tables(travel):
  assert _call(travel, "find_flights", from_location="E", to_location="A", date="2023-12-25") == (
      "[{'from_location': '\"E\"', 'to_location': '\"A\"', 'date': '2023-12-25', 'price': 450}]")
  # Quoted names are accepted as well, and a date without flights gives an empty list.
  assert _call(travel, "find_flights", from_location='"E"', to_location="B",
               date="2023-11-10").count("'price'") == 2
  assert _call(travel, "find_flights", from_location="E", to_location="A", date="2024-01-01") == "[]"


def test_find_flights_unsupported_location_is_an_error(travel):
  out = _call(travel, "find_flights", from_location="Z", to_location="A", date="2023-12-25")
  assert out.startswith("Error: Origin [Z] is not supported. Supported from_locations: ")
  out = _call(travel, "find_flights", from_location="E", to_location="Q", date="2023-12-25")
  assert out.startswith("Error: Destination [Q] is not supported.")


def test_book_hotel_filters_by_all_preferences_and_is_recorded(travel):
  out = _call(travel, "book_hotel", location="A", preferences=["wifi", "pool"])
  assert out == ("[{'location': '\"A\"', 'preferences': ['wifi', 'pool'], 'price_per_night': 120,"
                 " 'rating': 4}]")
  assert _call(travel, "book_hotel", location="A").count("'rating'") == 2   # no preferences
  assert _call(travel, "book_hotel", location="B", preferences=["pool"]) == "[]"
  bookings = travel.state()["hotel_bookings"]
  assert [b["preferences"] for b in bookings] == [["wifi", "pool"], [], ["pool"]]
  assert bookings[0]["hotels"][0]["price_per_night"] == 120


def test_m3tooleval_plan_trip_answer(travel):
  flights = eval(_call(travel, "find_flights", from_location="E", to_location="A",
                       date="2023-12-25"))
  hotels = eval(_call(travel, "book_hotel", location="A", preferences=["wifi", "pool"]))
  assert _call(travel, "budget_calculator", flight_price=flights[0]["price"],
               hotel_price_per_night=hotels[0]["price_per_night"], num_nights=5) == "1050"


@pytest.mark.parametrize("content,error", [
    (None, FileNotFoundError),
    ("{not json", ValueError),
    (json.dumps({"flights": []}), ValueError),
    (json.dumps({"flights": [{"from_location": "A"}], "hotels": []}), ValueError),
    (json.dumps({"flights": [], "hotels": [{"location": "A", "preferences": ["x"],
                                           "price_per_night": "cheap", "rating": 3}]}), ValueError),
])
def test_bad_travel_data_fails_at_make_time(tmp_path, content, error):
  path = tmp_path / "tables.json"
  if content is not None:
    path.write_text(content)
  with pytest.raises(error, match="tables.json"):
    envs.make("calculation", data_path=str(path))


def test_generated_travel_tables_depend_on_seed_only():
  a = envs.make("calculation", seed=3).travel_data()
  b = envs.make("calculation", seed=3).travel_data()
  c = envs.make("calculation", seed=4).travel_data()
  assert a == b
  assert a != c
  assert len(a.flights) >= 12 and len(a.hotels) >= 12
  env = envs.make("calculation", seed=3)
  env.reset(seed=4)
  assert env.travel_data() == c


# ---- family selection -----------------------------------------------------------------------
def test_default_offers_every_family():
  names = [t["function"]["name"] for t in envs.make("calculation").tools]
  assert len(names) == 24 == len(set(names))
  assert DNA_TOOLS <= set(names) and {"calculator", "find_flights", "caesar_decode"} <= set(names)


@pytest.mark.parametrize("family", ["dna_sequencer", "cryptobotanists_plant_dna_sequencer"])
def test_single_family_offers_only_its_tools(family):
  env = envs.make("calculation", family=family)
  assert {t["function"]["name"] for t in env.tools} == DNA_TOOLS
  assert env.state()["families"] == ["dna_sequencer"]
  assert _call(env, "reverse_string", string="abc").startswith("Error: unknown tool 'reverse_string'")


def test_family_list_and_unknown_family():
  env = envs.make("calculation", family=["trade_calculator", "message_decoder"])
  assert env.families == ("message_decoder", "trade_calculator")
  assert len(env.tools) == 12
  with pytest.raises(ValueError, match="unknown calculation family"):
    envs.make("calculation", family="astrology")
  assert set(FAMILIES) == {"message_decoder", "dna_sequencer", "trade_calculator",
                           "travel_itinerary_planning"}


# ---- bad calls ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,arguments,fragment", [
    ("no_such_tool", {}, "unknown tool"),
    ("caesar_decode", {"message": "abc"}, "missing required argument(s): shift"),
    ("caesar_decode", {"message": "abc", "shift": "3"}, "'shift' must be of type integer"),
    ("reverse_string", {"string": "abc", "extra": 1}, "unknown argument(s): extra"),
    ("reverse_string", "{not json", "not valid JSON"),
    ("reverse_string", ["abc"], "must be a JSON object"),
    ("convert_hex_to_ascii", {"hex_string": "zz"}, "ValueError"),
    ("convert_hex_to_ascii", {"hex_string": "ff"}, "UnicodeDecodeError"),
    ("minimum_value", {"args": []}, "non-empty list"),
    ("minimum_value", {"args": [1, "a"]}, "TypeError"),
    ("find_max_nucleotide", {"args": []}, "non-empty list"),
    ("find_max_nucleotide", {"args": ["A"]}, "at least one"),
    ("find_minimum", {"args": [1, "2"]}, "only numbers"),
    ("find_maximum", {"args": "1, 2"}, "must be of type array"),
    ("max", {"args": [True, 2]}, "only numbers"),
    ("book_hotel", {"location": "nowhere"}, "is not supported"),
    ("calculator", {"expression": "__import__('os')"}, "Failed to evaluate expression"),
    ("calculator", {"expression": "1 / 0"}, "division by zero"),
])
def test_bad_calls_are_error_observations(env, name, arguments, fragment):
  out = env.call_tool(name, arguments)
  assert out.startswith("Error: ")
  assert fragment in out


def test_calculator_never_runs_code(env, tmp_path):
  target = tmp_path / "pwned"
  out = _call(env, "calculator", expression=f"open({str(target)!r}, 'w').write('x')")
  assert out.startswith("Error: Failed to evaluate expression: ")
  assert not target.exists()


# ---- episode, state -------------------------------------------------------------------------
def test_state_is_json_and_records_the_episode(env):
  assert env.reset(instruction="Reverse 'abc'.") == "Reverse 'abc'."
  _call(env, "reverse_string", string="abc")
  env.respond("Answer: cba")
  state = json.loads(json.dumps(env.state()))
  assert state["tool_calls"] == [{"name": "reverse_string", "arguments": {"string": "abc"},
                                  "observation": "cba"}]
  assert state["answer"] == "Answer: cba" and state["done"] is True
  assert state["instruction"] == "Reverse 'abc'."
  assert _call(env, "reverse_string", string="x") == "Error: the episode is over."


def test_reset_restores_the_initial_state(env):
  _call(env, "book_hotel", location=env.travel_data().hotels[0]["location"])
  env.respond("Answer: 1")
  env.reset()
  state = env.state()
  assert state["tool_calls"] == [] and state["hotel_bookings"] == []
  assert state["answer"] is None and state["done"] is False
  assert _call(env, "reverse_string", string="ab") == "ba"


def test_system_prompt_asks_for_the_answer_format(env):
  assert "Answer:" in env.system_prompt
