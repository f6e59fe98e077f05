"""Good scripted tasks for the answer families (calculation, web browsing): a benchmark instance
turned into a CaT record whose verifier checks the final 'Answer:' value.

The verifier is one of three short templates chosen by the expected value's type (number: within
a relative tolerance; structured Python literal: equal after ast.literal_eval; text: equal after
stripping quotes), so the demonstrations teach a few clear patterns. Failure cases: the solution's
tool calls with two wrong answers, and with no answer at all.
"""

from __future__ import annotations

import ast
from typing import Any

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.tasks.record import RESPOND

_NUMBER = '''def verify(state, answer, messages):
  text = answer.split("Answer:", 1)[-1].strip()
  try:
    return abs(float(text) - {value!r}) <= 1e-6 * max(1.0, abs({value!r}))
  except ValueError:
    return False'''

_LITERAL = '''import ast

def verify(state, answer, messages):
  text = answer.split("Answer:", 1)[-1].strip()
  try:
    return ast.literal_eval(text) == {value!r}
  except (ValueError, SyntaxError):
    return False'''

_TEXT = '''def verify(state, answer, messages):
  text = answer.split("Answer:", 1)[-1].strip()
  return text.strip("'\\"") == {value!r}'''


def _number(text: str) -> float | None:
  try:
    value = float(text)
  except ValueError:
    return None
  return value if value == value and abs(value) != float("inf") else None


def _literal(text: str) -> Any:
  try:
    value = ast.literal_eval(text)
  except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
    return None
  return value if isinstance(value, (list, tuple, dict, bool, set)) else None


def answer_verifier(expected: str) -> str:
  """Verifier source accepting exactly the answers that mean `expected`."""
  number = _number(expected)
  if number is not None:
    return _NUMBER.format(value=number)
  literal = _literal(expected)
  if literal is not None:
    return _LITERAL.format(value=literal)
  return _TEXT.format(value=expected.strip().strip("'\""))


def wrong_answers(expected: str) -> list[str]:
  """Two plausible answers that the verifier of `expected` rejects."""
  number = _number(expected)
  if number is not None:
    as_int = number == int(number) and "." not in expected
    fmt = (lambda x: str(int(x))) if as_int else (lambda x: f"{x:.2f}")
    # Off by more than the verifier's tolerance (1e-6 relative) at any magnitude: +1 alone is
    # accepted near 1.6e6, and 2x + 3 equals x at -3.
    step = 1.0 + 0.01 * abs(number)
    return [fmt(number + step), fmt(number - 2 * step)]
  literal = _literal(expected)
  if literal is not None:
    first = repr(not literal) if isinstance(literal, bool) else "None"
    return [first, "'unknown'"]
  text = expected.strip().strip("'\"")
  reversed_text = text[::-1] if text[::-1] != text else text + "x"
  return [reversed_text, "unknown" if text != "unknown" else "none"]


def answer_task_fields(task: BenchmarkTask) -> dict[str, Any]:
  """instruction / verifier / solution / failure_cases of a CaT record for `task`."""
  if task.expected_answer is None or not task.solution:
    raise ValueError(f"benchmark task {task.task_id} has no expected answer or solution")
  tools = [dict(a) for a in task.solution if a["name"] != RESPOND]
  answer = lambda value: {"name": RESPOND, "arguments": {"content": f"Answer: {value}"}}
  # The verifier reads only the final answer, so a failure case is the wrong answer alone (or
  # none): replaying the tool calls in each case would only triple the record a model must write.
  failures = [[answer(value)] for value in wrong_answers(task.expected_answer)]
  failures.append([])                # never answered
  return {"instruction": task.instruction.strip(), "verifier": answer_verifier(task.expected_answer),
          "solution": [dict(a) for a in task.solution], "failure_cases": failures,
          "exploration": tools}
