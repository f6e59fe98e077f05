"""One tool of an M3ToolEval-style family: its JSON schema and the Python function behind it.

Observations are rendered the way M3ToolEval renders them (`str()` of the result, cut at 2000
characters), so an agent sees the same text here as there.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from selfchallenge_jax.envs.base import ToolError, function_schema

#: M3ToolEval truncates every tool result to this many characters.
MAX_OBSERVATION_CHARS = 2000
TRUNCATION_SUFFIX = "...\n[Output Truncated]"


@dataclasses.dataclass(frozen=True)
class Tool:
  schema: dict[str, Any]
  function: Callable[..., Any]

  @property
  def name(self) -> str:
    return self.schema["function"]["name"]


def make_tool(function: Callable[..., Any], name: str, description: str,
              properties: dict[str, Any], required: list[str] | None = None) -> Tool:
  """A Tool whose observation is M3ToolEval's rendering of `function`'s result."""
  def rendered(**kwargs: Any) -> str:
    return render_observation(function(**kwargs))
  return Tool(function_schema(name, description, properties, required), rendered)


def render_observation(value: Any) -> str:
  text = str(value)
  if len(text) > MAX_OBSERVATION_CHARS:
    text = text[:MAX_OBSERVATION_CHARS] + TRUNCATION_SUFFIX
  return text


def number_list(values: Any, what: str = "args", allow_empty: bool = False) -> list[int | float]:
  """Validates a variadic argument that M3ToolEval takes as *args of numbers."""
  if not isinstance(values, list) or not (values or allow_empty):
    raise ToolError(f"{what} must be a non-empty list of numbers.")
  for v in values:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
      raise ToolError(f"{what} must contain only numbers, got {v!r}.")
  return values


#: Schema fragments shared by the families.
STRING = {"type": "string"}
NUMBER = {"type": "number"}
INTEGER = {"type": "integer"}
NUMBER_ARRAY = {"type": "array", "items": {"type": "number"}}
