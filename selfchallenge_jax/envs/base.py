"""The environment contract every tool environment implements (see shared/DESIGN.md).

An environment is a stateful, deterministic object the agent talks to through tools:

    env = envs.make("calculation", seed=3)
    first_message = env.reset(seed=3)          # what the user says first (the task, or a greeting)
    env.tools                                  # [{"type": "function", "function": {...}}, ...]
    obs = env.call_tool("reverse_string", {"input_string": "abc"})   # always a str, never raises
    reply = env.respond("Answer: 42")          # text to the user; returns the user's reply ("" if none)
    env.done, env.answer, env.state()          # state() is JSON-serializable; verifiers read it

Errors made by the agent (unknown tool, wrong arguments, invalid action) come back as an observation
starting with "Error: " and never raise: the agent loop must not crash on model output.
"""

from __future__ import annotations

import abc
import copy
import json
from typing import Any, Callable

ERROR_PREFIX = "Error: "


class Environment(abc.ABC):
  """Base class: tool dispatch, argument checking, the action log and the final-answer channel."""

  #: Registry name, e.g. "calculation".
  name: str = ""

  def __init__(self) -> None:
    self.done: bool = False
    self.answer: str | None = None
    #: Every action the agent took, in order: {"kind": "tool", "name", "arguments", "observation"}
    #: or {"kind": "respond", "content", "reply"}. Verifiers receive it as `messages`.
    self.actions: list[dict[str, Any]] = []

  # ---- to implement -------------------------------------------------------------------------
  @property
  @abc.abstractmethod
  def tools(self) -> list[dict[str, Any]]:
    """Tool schemas in the Llama 3.1 / OpenAI function format."""

  @property
  def system_prompt(self) -> str:
    """Text for the agent's system message (tau-bench: the policy document)."""
    return ""

  @abc.abstractmethod
  def reset(self, seed: int | None = None, **kwargs: Any) -> str:
    """Restores the initial state; returns the user's first message (may be "")."""

  @abc.abstractmethod
  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    """Maps tool name -> python callable taking the tool's arguments as keywords."""

  @abc.abstractmethod
  def state(self) -> dict[str, Any]:
    """A JSON-serializable snapshot of everything a verifier may read."""

  def _on_respond(self, content: str) -> str:
    """Default final-answer channel: the agent's text ends the episode and is its answer."""
    self.answer = content
    self.done = True
    return ""

  # ---- shared behaviour ---------------------------------------------------------------------
  def call_tool(self, name: str, arguments: dict[str, Any] | str | None) -> str:
    """Runs one tool; returns its observation, or an "Error: ..." observation for a bad call."""
    observation = self._dispatch(name, arguments)
    self.actions.append({"kind": "tool", "name": name, "arguments": arguments,
                         "observation": observation})
    return observation

  def respond(self, content: str) -> str:
    """Sends text to the user; returns the user's reply ("" when the episode has no user)."""
    if self.done:
      reply = ERROR_PREFIX + "the episode is over."
    else:
      reply = self._on_respond(str(content))
    self.actions.append({"kind": "respond", "content": str(content), "reply": reply})
    return reply

  def _dispatch(self, name: str, arguments: dict[str, Any] | str | None) -> str:
    if self.done:
      return ERROR_PREFIX + "the episode is over."
    functions = self._tool_functions()
    if name not in functions:
      return f"{ERROR_PREFIX}unknown tool {name!r}; available tools: {', '.join(sorted(functions))}."
    if arguments is None:
      arguments = {}
    if isinstance(arguments, str):
      try:
        arguments = json.loads(arguments) if arguments.strip() else {}
      except json.JSONDecodeError as e:
        return f"{ERROR_PREFIX}arguments of {name} are not valid JSON: {e}."
    if not isinstance(arguments, dict):
      return f"{ERROR_PREFIX}arguments of {name} must be a JSON object, got {type(arguments).__name__}."
    problem = check_arguments(self._schema(name), arguments)
    if problem:
      return f"{ERROR_PREFIX}{name}: {problem}"
    try:
      result = functions[name](**copy.deepcopy(arguments))
    except ToolError as e:
      return f"{ERROR_PREFIX}{e}"
    except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as e:
      return f"{ERROR_PREFIX}{name} failed: {type(e).__name__}: {e}"
    return result if isinstance(result, str) else json.dumps(result)

  def _schema(self, name: str) -> dict[str, Any]:
    for tool in self.tools:
      if tool["function"]["name"] == name:
        return tool["function"].get("parameters", {})
    return {}


class ToolError(Exception):
  """Raised inside a tool for an invalid action; shown to the agent as "Error: <message>"."""


_JSON_TYPES = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


def check_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> str | None:
  """Checks required keys, unknown keys and top-level JSON types; returns a problem or None."""
  properties = schema.get("properties", {})
  missing = [k for k in schema.get("required", []) if k not in arguments]
  if missing:
    return f"missing required argument(s): {', '.join(missing)}."
  unknown = [k for k in arguments if k not in properties]
  if unknown:
    return f"unknown argument(s): {', '.join(unknown)}; expected: {', '.join(properties)}."
  for key, value in arguments.items():
    expected = properties[key].get("type")
    if expected is None:
      continue
    types = _JSON_TYPES.get(expected, ())
    ok = isinstance(value, types) and not (expected in ("integer", "number") and isinstance(value, bool))
    if not ok:
      return f"argument {key!r} must be of type {expected}, got {type(value).__name__}."
  return None


def function_schema(name: str, description: str, properties: dict[str, Any],
                    required: list[str] | None = None) -> dict[str, Any]:
  """Builds one tool schema in the Llama 3.1 / OpenAI function format."""
  return {
      "type": "function",
      "function": {
          "name": name,
          "description": description,
          "parameters": {
              "type": "object",
              "properties": properties,
              "required": list(properties) if required is None else required,
          },
      },
  }
