"""The Code-as-Task (CaT) record: a model-written task with its own verifier, solution and failures.

JSON layout (one object; `from_json` rejects anything else with a TaskFormatError naming the field):

    {
      "task_id": "retail-3f2a...",
      "env": "retail",                          # registry name for envs.make
      "env_kwargs": {"seed": 7},                # initial-state reference: seed / data snapshot id
      "instruction": "Your name is Olivia Nguyen ... return the Skateboard via paypal_77.",
      "verifier": "def verify(state, answer, messages):\n  ...",
      "solution": [{"name": "get_order_details", "arguments": {"order_id": "#W112"}},
                   {"name": "respond", "arguments": {"content": "Done."}}],
      "failure_cases": [[...actions...], ...],  # plausible but wrong; >= 1 for the task to be kept
      "provenance": {"model": "...", "step": 120, "source": "challenger"}
    }

The verifier contract (one signature, documented here and in check.py):

    def verify(state: dict, answer: str, messages: list) -> bool

`state` is env.state() after replaying the actions, `answer` is env.answer or "" and `messages`
is env.actions, the action log of envs/base.py ({"kind": "tool", "name", "arguments",
"observation"} or {"kind": "respond", "content", "reply"}).

An action is {"name": tool_name, "arguments": {...}}; the name "respond" sends
arguments["content"] to env.respond (the final answer, or a message to the simulated user).

Records are model output: `from_json` bounds them before anything else touches them (JSON text of
at most MAX_RECORD_BYTES, values nested at most MAX_DEPTH deep, at most MAX_VALUES values, JSON
types only, finite numbers, strings that encode as UTF-8), walking values without recursion, so a
hostile record is a TaskFormatError, never a RecursionError or MemoryError.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from typing import Any

RESPOND = "respond"
VERIFIER_FUNCTION = "verify"
_FIELDS = ("task_id", "env", "env_kwargs", "instruction", "verifier", "solution",
           "failure_cases", "provenance")
#: Bounds on a record (far above any real one: the scripted records are < 4 KB, depth < 8).
MAX_RECORD_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_VALUES = 20_000


class TaskFormatError(ValueError):
  """A CaT record is not valid JSON or a field has the wrong shape."""


Action = dict[str, Any]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CodeAsTask:
  task_id: str
  env: str
  env_kwargs: dict[str, Any]
  instruction: str
  verifier: str
  solution: tuple[Action, ...]
  failure_cases: tuple[tuple[Action, ...], ...]
  provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

  def to_json(self) -> dict[str, Any]:
    """A plain JSON-ready dict (lists, not tuples); `from_json(to_json())` round-trips."""
    return {
        "task_id": self.task_id, "env": self.env, "env_kwargs": copy.deepcopy(self.env_kwargs),
        "instruction": self.instruction, "verifier": self.verifier,
        "solution": copy.deepcopy(list(self.solution)),
        "failure_cases": [copy.deepcopy(list(case)) for case in self.failure_cases],
        "provenance": copy.deepcopy(self.provenance),
    }

  def dumps(self) -> str:
    return json.dumps(self.to_json(), sort_keys=True)

  @classmethod
  def from_json(cls, data: str | bytes | dict[str, Any]) -> "CodeAsTask":
    """Parses and validates; raises TaskFormatError with the offending field's path."""
    if isinstance(data, (str, bytes)):
      size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
      if size > MAX_RECORD_BYTES:
        raise TaskFormatError(f"CaT record is {size} bytes; at most {MAX_RECORD_BYTES}")
      try:
        data = json.loads(data)
      except (ValueError, RecursionError) as e:
        raise TaskFormatError(f"CaT record is not valid JSON: {e}") from e
    _check_json_value(data)
    if not isinstance(data, dict):
      raise TaskFormatError(f"CaT record must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
      raise TaskFormatError(f"CaT record has unknown field(s) {unknown}; expected {list(_FIELDS)}")
    for key in ("task_id", "env", "instruction", "verifier"):
      _require_type(data, key, str)
      if not data[key].strip():
        raise TaskFormatError(f"CaT record field {key!r} must not be empty")
    _require_type(data, "env_kwargs", dict)
    provenance = data.get("provenance", {})
    if not isinstance(provenance, dict):
      raise TaskFormatError(f"CaT record field 'provenance' must be an object, got "
                            f"{type(provenance).__name__}")
    solution = _actions(data.get("solution"), "solution")
    if not solution:
      raise TaskFormatError("CaT record field 'solution' must contain at least one action")
    cases = data.get("failure_cases")
    if not isinstance(cases, list):
      raise TaskFormatError(f"CaT record field 'failure_cases' must be a list of action lists, "
                            f"got {type(cases).__name__}")
    failure_cases = tuple(_actions(case, f"failure_cases[{i}]") for i, case in enumerate(cases))
    return cls(task_id=data["task_id"], env=data["env"],
               env_kwargs=copy.deepcopy(data["env_kwargs"]), instruction=data["instruction"],
               verifier=data["verifier"], solution=solution, failure_cases=failure_cases,
               provenance=copy.deepcopy(provenance))

  @classmethod
  def loads(cls, text: str | bytes) -> "CodeAsTask":
    return cls.from_json(text)


def _check_json_value(root: Any) -> None:
  """JSON types only, bounded depth and count, finite numbers, UTF-8-encodable strings; iterative
  (a deep value must not exhaust the stack before it is rejected)."""
  stack, count = [(root, 1, "record")], 0
  while stack:
    value, depth, where = stack.pop()
    count += 1
    if count > MAX_VALUES:
      raise TaskFormatError(f"CaT record holds more than {MAX_VALUES} values")
    if depth > MAX_DEPTH:
      raise TaskFormatError(f"CaT record is nested deeper than {MAX_DEPTH} at {where}")
    if isinstance(value, str):
      _check_text(value, where)
    elif isinstance(value, float):
      if not math.isfinite(value):
        raise TaskFormatError(f"CaT record has a non-finite number at {where}")
    elif isinstance(value, dict):
      for key, item in value.items():
        if not isinstance(key, str):
          raise TaskFormatError(f"CaT record has a non-string key at {where}")
        _check_text(key, where)
        stack.append((item, depth + 1, f"{where}.{key[:40]}"))
    elif isinstance(value, list):
      stack.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(value))
    elif value is not None and not isinstance(value, (bool, int)):
      raise TaskFormatError(f"CaT record has a {type(value).__name__} at {where}; JSON values only")


def _check_text(text: str, where: str) -> None:
  try:
    text.encode("utf-8")
  except UnicodeEncodeError as e:
    raise TaskFormatError(f"CaT record has text that is not valid UTF-8 at {where}: {e.reason}") from e


def _require_type(data: dict[str, Any], key: str, kind: type) -> None:
  if key not in data:
    raise TaskFormatError(f"CaT record is missing field {key!r}")
  if not isinstance(data[key], kind):
    raise TaskFormatError(f"CaT record field {key!r} must be {kind.__name__}, got "
                          f"{type(data[key]).__name__}")


def _actions(value: Any, where: str) -> tuple[Action, ...]:
  if not isinstance(value, list):
    raise TaskFormatError(f"{where} must be a list of actions, got {type(value).__name__}")
  actions = []
  for i, action in enumerate(value):
    path = f"{where}[{i}]"
    if not isinstance(action, dict):
      raise TaskFormatError(f"{path} must be an object, got {type(action).__name__}")
    extra = sorted(set(action) - {"name", "arguments"})
    if extra:
      raise TaskFormatError(f"{path} has unknown key(s) {extra}; expected 'name', 'arguments'")
    if not isinstance(action.get("name"), str) or not action["name"]:
      raise TaskFormatError(f"{path}.name must be a non-empty string")
    arguments = action.get("arguments", {})
    if not isinstance(arguments, dict):
      raise TaskFormatError(f"{path}.arguments must be an object, got {type(arguments).__name__}")
    if action["name"] == RESPOND and (set(arguments) != {"content"}
                                      or not isinstance(arguments["content"], str)):
      raise TaskFormatError(f"{path}: a respond action takes exactly {{'content': str}}")
    actions.append({"name": action["name"], "arguments": copy.deepcopy(arguments)})
  return tuple(actions)
