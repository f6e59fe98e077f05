"""parse_challenger_output: the challenger's final message (layout.py) -> a CodeAsTask, strictly.

Strict on structure (one <task> block, the four fields in order, nothing but whitespace between
them, JSON action lists) so the model is trained towards one layout, and never crashing: whatever
the text, the result is a CodeAsTask or a ParseError whose `reason` is one of REASONS. The verifier
is not compiled here: whether it runs is the sandbox's verdict (check.py's verifier_error), which
keeps the "verifier runs" keep rate comparable with the paper's.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from typing import Any, Mapping

from selfchallenge_jax.challenge import layout
from selfchallenge_jax.tasks.record import CodeAsTask, TaskFormatError

#: Far above any useful task; bounds the work done on runaway generations.
MAX_CHARS = 64_000

EMPTY, TOO_LONG, MISSING_TASK, MULTIPLE_TASKS = "empty", "too_long", "missing_task", "multiple_tasks"
BAD_LAYOUT, MISSING_FIELD, EMPTY_FIELD = "bad_layout", "missing_field", "empty_field"
BAD_JSON, NO_FAILURE_CASES, INVALID_RECORD = "bad_json", "no_failure_cases", "invalid_record"
REASONS = (EMPTY, TOO_LONG, MISSING_TASK, MULTIPLE_TASKS, BAD_LAYOUT, MISSING_FIELD, EMPTY_FIELD,
           BAD_JSON, NO_FAILURE_CASES, INVALID_RECORD)

_TAG = re.compile(r"<(/?)(" + "|".join(layout.FIELD_TAGS) + r")>")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n(.*?)\n?```$", re.DOTALL)
_TRAILING_STOP = re.compile(r"(?:\s*(?:<\|eot_id\|>|<\|eom_id\|>|<\|end_of_text\|>|</s>))+\s*$")


class ParseError(ValueError):
  """The challenger's output is not one well-formed task; `reason` is one of REASONS."""

  def __init__(self, reason: str, detail: str = "") -> None:
    assert reason in REASONS, reason
    super().__init__(f"{reason}: {detail}" if detail else reason)
    self.reason, self.detail = reason, detail


def parse_challenger_output(text: Any, *, env: str, env_kwargs: Mapping[str, Any],
                            provenance: Mapping[str, Any] | None = None) -> CodeAsTask:
  """The task in `text`, for environment `env` built with `env_kwargs`; raises ParseError."""
  try:
    return _parse(text, env, env_kwargs, provenance or {})
  except ParseError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    # A parser bug on some odd input must cost one rejected output, never the whole run.
    raise ParseError(INVALID_RECORD, f"{type(e).__name__}: {e}") from e


def _parse(text: Any, env: str, env_kwargs: Mapping[str, Any],
           provenance: Mapping[str, Any]) -> CodeAsTask:
  if not isinstance(text, str) or not text.strip():
    raise ParseError(EMPTY, "no final message")
  if len(text) > MAX_CHARS:
    raise ParseError(TOO_LONG, f"{len(text)} characters > {MAX_CHARS}")
  text = _TRAILING_STOP.sub("", text)
  opens, closes = text.count(layout.TASK_OPEN), text.count(layout.TASK_CLOSE)
  if opens == 0:
    raise ParseError(MISSING_TASK, f"no {layout.TASK_OPEN} tag")
  if opens > 1 or closes > 1:
    raise ParseError(MULTIPLE_TASKS, f"{opens} {layout.TASK_OPEN} and {closes} {layout.TASK_CLOSE}")
  start = text.index(layout.TASK_OPEN) + len(layout.TASK_OPEN)
  end = text.find(layout.TASK_CLOSE, start)
  if end < 0:
    raise ParseError(MISSING_TASK, f"no {layout.TASK_CLOSE} after {layout.TASK_OPEN}")
  fields = _fields(text[start:end])
  instruction = fields[layout.INSTRUCTION][0].strip()
  verifier = _code(fields[layout.VERIFIER][0])
  if not instruction or not verifier:
    raise ParseError(EMPTY_FIELD, "instruction" if not instruction else "verifier")
  solution = _json(fields[layout.SOLUTION][0], layout.SOLUTION)
  cases = [_json(body, f"{layout.FAILURE_CASE}[{i}]")
           for i, body in enumerate(fields[layout.FAILURE_CASE])]
  record = {"task_id": _task_id(env, env_kwargs, instruction, verifier, solution, cases),
            "env": env, "env_kwargs": dict(env_kwargs), "instruction": instruction,
            "verifier": verifier, "solution": solution, "failure_cases": cases,
            "provenance": dict(provenance)}
  try:
    return CodeAsTask.from_json(record)
  except TaskFormatError as e:
    raise ParseError(INVALID_RECORD, str(e)) from e


def _fields(body: str) -> dict[str, list[str]]:
  """Splits the inside of <task> into field bodies, checking order, nesting and stray text."""
  fields: dict[str, list[str]] = {tag: [] for tag in layout.FIELD_TAGS}
  expected = 0              # index into FIELD_TAGS of the next field allowed to open
  position, open_tag, open_end = 0, None, 0
  for match in _TAG.finditer(body):
    closing, tag = match.group(1) == "/", match.group(2)
    if open_tag is None:
      if closing:
        raise ParseError(BAD_LAYOUT, f"</{tag}> without <{tag}>")
      stray = body[position:match.start()].strip()
      if stray:
        raise ParseError(BAD_LAYOUT, f"text outside the fields: {stray[:60]!r}")
      index = layout.FIELD_TAGS.index(tag)
      repeat_ok = tag == layout.FAILURE_CASE and index == expected - 1
      if index != expected and not repeat_ok:
        wanted = layout.FIELD_TAGS[expected] if expected < len(layout.FIELD_TAGS) else layout.FAILURE_CASE
        if index > expected:
          raise ParseError(MISSING_FIELD, f"<{tag}> before <{wanted}>")
        raise ParseError(BAD_LAYOUT, f"<{tag}> out of order (expected <{wanted}>)")
      open_tag, open_end = tag, match.end()
      expected = index + 1
    else:
      if not closing or tag != open_tag:
        raise ParseError(BAD_LAYOUT, f"<{'/' if closing else ''}{tag}> inside <{open_tag}>")
      fields[tag].append(body[open_end:match.start()])
      open_tag, position = None, match.end()
  if open_tag is not None:
    raise ParseError(BAD_LAYOUT, f"<{open_tag}> is never closed")
  stray = body[position:].strip()
  if stray:
    raise ParseError(BAD_LAYOUT, f"text outside the fields: {stray[:60]!r}")
  for tag in layout.FIELD_TAGS[:-1]:
    if not fields[tag]:
      raise ParseError(MISSING_FIELD, f"no <{tag}>")
  if not fields[layout.FAILURE_CASE]:
    raise ParseError(NO_FAILURE_CASES, f"no <{layout.FAILURE_CASE}>")
  return fields


def _code(body: str) -> str:
  code = body.strip("\n").rstrip()
  fenced = _FENCE.match(code.strip())
  if fenced:   # models often fence code out of habit; the fence is not part of the program
    code = fenced.group(1)
  return textwrap.dedent(code).strip("\n")


def _json(body: str, where: str) -> list[Any]:
  try:
    value = json.loads(body)
  except (ValueError, RecursionError) as e:
    raise ParseError(BAD_JSON, f"{where}: {e}") from e
  if not isinstance(value, list):
    raise ParseError(BAD_JSON, f"{where} must be a JSON list of actions, got {type(value).__name__}")
  return value


def _task_id(env: str, env_kwargs: Mapping[str, Any], *content: Any) -> str:
  # Content-derived, so the same task written twice gets the same id (traceable duplicates).
  blob = json.dumps([env, dict(env_kwargs), *content], sort_keys=True, default=str)
  return f"{env}-{hashlib.sha256(blob.encode('utf-8')).hexdigest()[:16]}"
