"""Answer matching (M3ToolEval's intended check_answer rules) and the M3ToolEval task loader."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.calculation import answer_matches, extract_answer, load_m3tooleval_tasks


@pytest.mark.parametrize("response,expected", [
    ("Answer: 8100.0", "8100.0"),
    ("Answer: 8100", "8100.0"),                        # numbers compare numerically
    ("Answer: 8100.000000000001", "8100.0"),           # float round-off is absorbed
    ("Answer: 858875.6", "858875.6000000001"),
    ("Answer:   1050  ", "1050"),
    ("Thought: done.\nAnswer: UUU", "UUU"),
    ("Answer: 'Invalid DNA sequence'", "Invalid DNA sequence"),   # quoted string literal
    ("Answer: True", "True"),
    ("Answer: [7277.0, 8025.75, 10270.4]", "[7277.0, 8025.75, 10270.4]"),
    ("Answer: [7277, 8025.75, 10270.4]", "[7277.0, 8025.75, 10270.4]"),
    ("Answer: ['C', 4]", "('C', 4)"),                  # list vs tuple
    ("Answer: {'C': 2, 'T': 1, 'A': 2, 'G': 1}", "{'T': 1, 'A': 2, 'C': 2, 'G': 1}"),
    ("Answer: 296-500-1338", "296-500-1338"),
    ("Answer: 2955701543", "2955701543"),
    ("Answer: 12 Answer: 13", "12"),                   # the first answer counts
    ("42", "42"),                                      # no marker: the whole reply
    ("Answer: 2.5", 2.5),                              # a Python value as expected
    ("Answer: [1, 2]", [1, 2]),
])
def test_accepts(response, expected):
  assert answer_matches(response, expected)


@pytest.mark.parametrize("response,expected", [
    ("Answer: 7237", "7237.5"),           # M3ToolEval accepted this (int truncation); we do not
    ("Answer: 8100.01", "8100.0"),
    ("Answer: 100000.05", "100000.1"),
    ("Answer: hello world", "Hello World"),   # case-sensitive, as in M3ToolEval
    ("Answer: true", "True"),
    ("Answer: 1", "True"),
    ("Answer: [7277.0, 8025.75]", "[7277.0, 8025.75, 10270.4]"),
    ("Answer: {'C': 2}", "{'C': 2, 'T': 1}"),
    ("Answer: UUU extra words", "UUU"),
    ("Answer:", "0"),
    ("Answer: " + "[" * 5000, "1"),
])
def test_rejects(response, expected):
  assert not answer_matches(response, expected)


def test_extract_answer():
  assert extract_answer("Thought: x\nAnswer:  42 \n") == "42"
  assert extract_answer("no marker ") == "no marker"
  assert extract_answer("Answer: 1\nAnswer: 2") == "1"


def _write(path, records, jsonl=True):
  if jsonl:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
  else:
    path.write_text(json.dumps(records))
  return path


RECORDS = [
    {"name": "trade_calculator/estimate_final_value",
     "instruction": "Estimate the final trade value for a price of 150 units with a tariff of 7.5 "
                    "units.", "expected_output": 161.25},
    {"task_name": "trade_calculator/seasonal", "instruction": "List them.",
     "expected_output": [77040.0, 96300.0, 69336.0]},
    {"name": "cryptobotanists_plant_dna_sequencer/reverse_transcribe_palindrome_check",
     "instruction": "Reverse transcribe 'AUGCGU' and count.",
     "expected_output": {"T": 1, "A": 2, "C": 2, "G": 1}},
    {"name": "travel_itinerary_planning/plan_trip_to_0", "instruction": "Plan a trip.",
     "expected_output": 1050},
    {"name": "web_browsing/email_of_allison_hill", "instruction": "Find the email.",
     "expected_output": "allison.hill@taylor.net"},
]


@pytest.mark.parametrize("jsonl", [True, False])
def test_loader_maps_names_to_environments(tmp_path, jsonl):
  path = _write(tmp_path / "tasks.json", RECORDS, jsonl)
  tasks = load_m3tooleval_tasks(path, travel_data_path="tables.json", web_pages_path="pages.jsonl")
  assert [t.env for t in tasks] == ["calculation"] * 4 + ["web_browsing"]
  assert [t.env_kwargs for t in tasks] == [
      {"family": "trade_calculator"}, {"family": "trade_calculator"},
      {"family": "dna_sequencer"},
      {"family": "travel_itinerary_planning", "data_path": "tables.json"},
      {"pages_path": "pages.jsonl"}]
  assert tasks[0].task_id == "trade_calculator/estimate_final_value"
  assert tasks[0].expected_answer == "161.25"
  assert answer_matches("Answer: 161.25", tasks[0].expected_answer)
  assert answer_matches("Answer: [77040, 96300, 69336]", tasks[1].expected_answer)
  assert answer_matches("Answer: {'A': 2, 'C': 2, 'G': 1, 'T': 1}", tasks[2].expected_answer)
  assert not answer_matches("Answer: {'A': 2}", tasks[2].expected_answer)
  assert tasks[4].expected_answer == "allison.hill@taylor.net"
  assert tasks[0].solution == ()
  # The env_kwargs of a loaded calculation task build the environment.
  env = envs.make(tasks[2].env, **tasks[2].env_kwargs)
  assert env.call_tool("reverse_transcribe_mrna_to_dna", {"mrna_sequence": "AUGCGU"}) == "TACGCA"


def test_loader_accepts_a_tasks_object_and_an_explicit_family(tmp_path):
  path = tmp_path / "t.json"
  path.write_text(json.dumps({"tasks": [{"instruction": "x", "expected_answer": "abc"}]}))
  (task,) = load_m3tooleval_tasks(path, family="message_decoder")
  assert task.env_kwargs == {"family": "message_decoder"} and task.expected_answer == "abc"


@pytest.mark.parametrize("records,fragment", [
    ([{"name": "trade_calculator/x", "expected_output": 1}], "missing 'instruction'"),
    ([{"name": "trade_calculator/x", "instruction": "i"}], "missing 'expected_output'"),
    ([{"name": "astrology/x", "instruction": "i", "expected_output": 1}], "unknown"),
    ([{"instruction": "i", "expected_output": 1}], "pass family="),
    ([{"name": "trade_calculator/x", "instruction": "i", "expected_output": 1}, "a string"],
     "JSON object"),
    (["a string"], "list of task records"),
])
def test_loader_rejects_bad_records(tmp_path, records, fragment):
  path = _write(tmp_path / "tasks.jsonl", records)
  with pytest.raises(ValueError, match=fragment):
    load_m3tooleval_tasks(path)


def test_loader_missing_or_garbled_file(tmp_path):
  with pytest.raises(FileNotFoundError):
    load_m3tooleval_tasks(tmp_path / "missing.jsonl")
  bad = tmp_path / "bad.jsonl"
  bad.write_text('{"instruction": "x"}\n{oops\n')
  with pytest.raises(ValueError, match="neither JSON nor JSON lines"):
    load_m3tooleval_tasks(bad)
