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
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

RESPOND = "respond"
VERIFIER_FUNCTION = "verify"
_FIELDS = ("task_id", "env", "env_kwargs", "instruction", "verifier", "solution",
           "failure_cases", "provenance")


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
      try:
        data = json.loads(data)
      except (ValueError, RecursionError) as e:
        raise TaskFormatError(f"CaT record is not valid JSON: {e}") from e
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
