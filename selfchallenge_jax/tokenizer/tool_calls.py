"""Tool calls as the model writes them: Llama 3.1's JSON `{"name": ..., "parameters": {...}}`, or
`{"name": ..., "arguments": {...}}` in formats that say "arguments" (our ChatML convention).

`format_tool_call` is the one spelling used when rendering an assistant tool call (with "parameters"
it matches HF's Llama 3.1 chat template byte for byte); `parse_assistant` reads sampled assistant text
back, accepts either key, and is deliberately forgiving about the wrapping the model puts around the
JSON, but not about the JSON: a reply that is not a single well-formed call stays text, so the
environment sees what was written.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

PYTHON_TAG = "<|python_tag|>"
# End-of-turn names may appear in decoded text when the stop token was kept.
_TRAILING_STOP = re.compile(r"(?:\s*(?:<\|eot_id\|>|<\|eom_id\|>|<\|end_of_text\|>|</s>))+\s*$")
_CODE_FENCE = re.compile(r"^```(?:json|python)?\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class ToolCall:
  """One function call: `name` and its JSON-object `arguments`."""

  name: str
  arguments: dict[str, Any] = dataclasses.field(default_factory=dict)

  def to_message(self) -> dict[str, Any]:
    """The assistant message (HF / OpenAI `tool_calls` layout) that the chat renderers accept."""
    return {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": self.name, "arguments": self.arguments}}],
    }


def format_tool_call(name: str, arguments: dict[str, Any], *,
                     arguments_key: str = "parameters") -> str:
  """JSON tool call text; with "parameters" exactly as HF's Llama 3.1 template renders it."""
  # The template concatenates the name verbatim and `tojson`s the arguments (ensure_ascii=False).
  return ('{"name": "' + name + '", "' + arguments_key + '": '
          + json.dumps(arguments, ensure_ascii=False) + "}")


def _as_arguments(value: Any) -> dict[str, Any] | None:
  if isinstance(value, str):  # Models sometimes emit the parameters as a JSON-encoded string.
    try:
      value = json.loads(value)
    except json.JSONDecodeError:
      return None
  return value if isinstance(value, dict) else None


def _as_tool_call(obj: Any) -> ToolCall | None:
  if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
    return None
  if set(obj) - {"name", "parameters", "arguments", "type"}:
    return None  # Some other JSON object (an answer the model was asked to give as JSON).
  if "parameters" in obj:
    arguments = _as_arguments(obj["parameters"])
  elif "arguments" in obj:
    arguments = _as_arguments(obj["arguments"])
  else:
    return None
  return None if arguments is None else ToolCall(obj["name"].strip(), arguments)


def parse_assistant(text: str) -> ToolCall | str:
  """A ToolCall if `text` is one JSON tool call (optionally after <|python_tag|>, in a code fence,
  followed by a stop-token name or by further `;`-separated calls, of which the first is taken);
  otherwise the text itself, with surrounding whitespace and trailing stop-token names removed."""
  cleaned = _TRAILING_STOP.sub("", text).strip()
  body = cleaned[len(PYTHON_TAG):].strip() if cleaned.startswith(PYTHON_TAG) else cleaned
  fenced = _CODE_FENCE.match(body)
  if fenced:
    body = fenced.group(1).strip()
  if body.startswith("{"):
    try:
      obj, end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
      return cleaned
    rest = body[end:].strip()
    if not rest or rest.startswith(";"):
      call = _as_tool_call(obj)
      if call is not None:
        return call
  return cleaned
