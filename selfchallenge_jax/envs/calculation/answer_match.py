"""Final-answer checking for the M3ToolEval-style families (calculation and web browsing).

M3ToolEval asks the agent to finish with "Answer: <value>" and compares <value> with the task's
expected Python value (tasks/base.py `Task.check_answer`). Its effective rules are: exact string
equality, or equality after converting both sides with int()/float(), or equality of `str()`s; its
`ast.literal_eval` branch was meant to compare parsed values but never runs (a missing `or` turns it
into a call that raises). This module implements the intended rules, which is what benchmark scoring
uses here:

* the answer is the text after the first "Answer:" (stripped); a reply without the marker is taken
  whole, because a tool-calling agent's final message is unambiguous even without it;
* both sides are parsed with `ast.literal_eval` when they are Python literals, else kept as text;
* numbers compare numerically (int 14 == float 14.0; relative tolerance 1e-9, enough to absorb
  float round-off from a different operation order, far too small to accept a wrong number);
* strings compare exactly after stripping (case-sensitive, like M3ToolEval), so "'Hello'" and
  "Hello" both match "Hello";
* lists and tuples compare element-wise by these rules (a list answer matches a tuple value);
  dicts compare by key set and values; anything else by ==.

Deliberate differences from M3ToolEval's code: it accepted a float truncated to an int ("7237" for
7237.5, because int(7237.5) == 7237) and rejected float round-off (7237.500000000001 vs 7237.5); here
the first is rejected and the second accepted.
"""

from __future__ import annotations

import ast
import math
from typing import Any

ANSWER_MARKER = "Answer:"
#: Longer answers are compared as text only: literal_eval on huge input costs time and memory.
_MAX_LITERAL_CHARS = 10_000
_REL_TOL = 1e-9
_ABS_TOL = 1e-9


def extract_answer(response: str) -> str:
  """The answer part of the agent's final message, read the way M3ToolEval reads it."""
  text = str(response)
  if ANSWER_MARKER not in text:
    return text.strip()
  return text.split(ANSWER_MARKER)[1].strip()


def parse_value(text: str) -> Any:
  """A Python literal if `text` is one (number, string, list, tuple, dict, bool), else the text."""
  text = text.strip()
  if len(text) > _MAX_LITERAL_CHARS:
    return text
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
    return text


def answer_matches(response: str, expected: Any) -> bool:
  """True if the agent's final message answers `expected` (a value, or its str as stored in tasks)."""
  answer = extract_answer(response)
  if isinstance(expected, str):
    if answer == expected.strip():
      return True
    expected = parse_value(expected)
  return values_match(parse_value(answer), expected)


def values_match(answer: Any, expected: Any) -> bool:
  """Structural comparison with numeric tolerance; see the module docstring for the rules."""
  if isinstance(answer, bool) or isinstance(expected, bool):
    return isinstance(answer, bool) and isinstance(expected, bool) and answer == expected
  if isinstance(answer, (int, float)) and isinstance(expected, (int, float)):
    if answer == expected:
      return True
    try:
      return math.isclose(float(answer), float(expected), rel_tol=_REL_TOL, abs_tol=_ABS_TOL)
    except OverflowError:   # ints too large for float and unequal
      return False
  if isinstance(answer, (list, tuple)) and isinstance(expected, (list, tuple)):
    return len(answer) == len(expected) and all(
        values_match(a, e) for a, e in zip(answer, expected))
  if isinstance(answer, dict) and isinstance(expected, dict):
    return set(answer) == set(expected) and all(
        values_match(answer[k], expected[k]) for k in expected)
  if isinstance(answer, str) and isinstance(expected, str):
    return answer.strip() == expected.strip()
  return answer == expected


def format_expected(value: Any) -> str:
  """How an expected value is stored in BenchmarkTask.expected_answer (its Python str)."""
  return str(value)


ANSWER_CHECKS = ("strict", "m3tooleval")


def m3tooleval_answer_matches(response: str, expected: Any) -> bool:
  """M3ToolEval's own `Task.check_answer`, faults included, for numbers comparable with published
  ones (`--answer_check=m3tooleval`). What its code does with the answer text:

  1. equal to the expected value as is, or after `_convert` of both sides -> correct. `_convert`
     tries int() then float() (ValueError only), so "68" matches 68.71 (int(68.71) == 68), and a
     list or dict expected value makes int() raise TypeError, which skips to step 3;
  2. `ast.literal_eval(answer)` replaces the answer (when it parses); the comparison that follows
     lacks an `or` and always raises, so it never decides anything: "(1, 2)" never matches [1, 2];
  3. `str(answer) == str(expected)` (answer as parsed in step 2 where it parsed) -> correct.

  `expected` is the typed value as the benchmark file holds it (a str stays a str); scoring.py
  passes `parse_value(expected_answer)` for tasks that carry only the str form.
  """
  answer: Any = extract_answer(response)
  try:
    if answer == expected or _m3_convert(answer) == _m3_convert(expected):
      return True
    if len(answer) <= _MAX_LITERAL_CHARS:
      answer = ast.literal_eval(answer)
  except Exception:  # pylint: disable=broad-except   (M3ToolEval's bare except)
    pass
  return str(answer) == str(expected)


def _m3_convert(value: Any) -> Any:
  try:
    return int(value)
  except ValueError:
    try:
      return float(value)
    except ValueError:
      return value


def answer_check(name: str):
  """The answer comparison named `name` (ANSWER_CHECKS): (response, expected) -> bool."""
  checks = {"strict": answer_matches, "m3tooleval": m3tooleval_answer_matches}
  if name not in checks:
    raise ValueError(f"answer check {name!r}; expected one of {', '.join(ANSWER_CHECKS)}")
  return checks[name]
