"""parse_challenger_output: the layout round-trips; every malformed output is a typed ParseError."""

import json

import pytest

from selfchallenge_jax.challenge import layout, parse
from selfchallenge_jax.challenge.parse import ParseError, parse_challenger_output

VERIFIER = 'def verify(state, answer, messages):\n  return answer == "Answer: 4"'
SOLUTION = [{"name": "calculator", "arguments": {"expression": "2+2"}},
            {"name": "respond", "arguments": {"content": "Answer: 4"}}]
FAILURES = [[{"name": "respond", "arguments": {"content": "Answer: 5"}}], []]
KW = {"env": "calculation", "env_kwargs": {"family": "trade_calculator", "seed": 3}}


def good_text():
  return layout.format_task_text("What is 2+2?", VERIFIER, SOLUTION, FAILURES)


def parse_text(text):
  return parse_challenger_output(text, **KW, provenance={"source": "test"})


def test_round_trip_of_the_layout():
  task = parse_text(good_text())
  assert task.instruction == "What is 2+2?"
  assert task.verifier == VERIFIER
  assert list(task.solution) == SOLUTION
  assert [list(c) for c in task.failure_cases] == FAILURES
  assert task.env == "calculation" and task.env_kwargs == KW["env_kwargs"]
  assert task.provenance == {"source": "test"}
  # Same content, same id; different content, different id.
  assert parse_text(good_text()).task_id == task.task_id
  other = layout.format_task_text("What is 2+3?", VERIFIER, SOLUTION, FAILURES)
  assert parse_text(other).task_id != task.task_id


def test_tolerated_wrapping():
  # Text around the block, a stop-token name, a fenced and indented verifier.
  fenced = good_text().replace(VERIFIER, "```python\n    " + VERIFIER.replace("\n", "\n    ")
                               + "\n```")
  task = parse_text("Here is my task.\n" + fenced + "<|eot_id|>")
  assert task.verifier == VERIFIER


def _replace(old, new):
  return good_text().replace(old, new)


@pytest.mark.parametrize("text, reason", [
    (None, parse.EMPTY),
    ("   ", parse.EMPTY),
    ("x" * (parse.MAX_CHARS + 1), parse.TOO_LONG),
    ("I would ask the agent to add two numbers.", parse.MISSING_TASK),
    ("<task><instruction>a</instruction>", parse.MISSING_TASK),
    (good_text() + good_text(), parse.MULTIPLE_TASKS),
    (_replace("<instruction>", "<instruction>").replace("</verifier>", ""), parse.BAD_LAYOUT),
    (_replace("<solution>", "oops <solution>"), parse.BAD_LAYOUT),
    (_replace("</task>", "trailing words\n</task>"), parse.BAD_LAYOUT),
    (_replace("</instruction>", "<verifier></instruction>"), parse.BAD_LAYOUT),
    (_replace("<solution>" + json.dumps(SOLUTION) + "</solution>", ""), parse.MISSING_FIELD),
    (_replace("<instruction>What is 2+2?</instruction>", ""), parse.MISSING_FIELD),
    (_replace("What is 2+2?", "  "), parse.EMPTY_FIELD),
    (_replace(json.dumps(SOLUTION), "[{'name': 'calculator'}]"), parse.BAD_JSON),
    (_replace(json.dumps(SOLUTION), '{"name": "calculator"}'), parse.BAD_JSON),
    (_replace(json.dumps(FAILURES[0]), "[[["), parse.BAD_JSON),
    (layout.format_task_text("q", VERIFIER, SOLUTION, []), parse.NO_FAILURE_CASES),
    (_replace(json.dumps(SOLUTION), "[]"), parse.INVALID_RECORD),
    (_replace(json.dumps(SOLUTION), '[{"name": "respond", "arguments": {"text": "hi"}}]'),
     parse.INVALID_RECORD),
    (_replace(json.dumps(SOLUTION), "[1, 2]"), parse.INVALID_RECORD),
])
def test_malformed_outputs_raise_typed_errors(text, reason):
  with pytest.raises(ParseError) as info:
    parse_text(text)
  assert info.value.reason == reason, str(info.value)


def test_garbage_never_crashes():
  pieces = ["<task>", "</task>", "<instruction>", "</instruction>", "<verifier>", "</verifier>",
            "<solution>", "</solution>", "<failure_case>", "</failure_case>", "[", "]", "{", "}",
            '"', "x", "\n", "[]", '{"name": "a"}']
  import random
  rng = random.Random(0)
  outcomes = set()
  for _ in range(500):
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
    try:
      parse_text(text)
      outcomes.add("ok")
    except ParseError as e:
      assert e.reason in parse.REASONS
      outcomes.add(e.reason)
  assert len(outcomes) >= 4   # the fuzz reached several different checks
  # A non-string output (a backend bug) is a ParseError too, not a TypeError.
  with pytest.raises(ParseError):
    parse_text(12345)
