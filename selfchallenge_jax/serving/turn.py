"""The "environment" of one served request: a single assistant turn that the client executes.

The rollout engine hands each finished turn to its episode's environment; a served request's
turn ends the episode whatever it holds: a tool call (returned to the client as `tool_calls`; the
client runs the tool and sends the result in its next request) or text (the reply).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


class ServedTurn:
  """Duck-types the parts of envs.base.Environment the engine uses; records the parsed turn."""

  system_prompt = ""

  def __init__(self, tools: Sequence[Mapping[str, Any]] = ()):
    self.tools = list(tools)
    self.done = False
    self.answer: str | None = None
    self.tool_call: tuple[str, dict[str, Any]] | None = None
    self.actions: list[dict[str, Any]] = []

  def call_tool(self, name: str, arguments: Any) -> str:
    self.tool_call = (name, arguments if isinstance(arguments, dict) else {})
    self.actions.append({"kind": "tool", "name": name, "arguments": self.tool_call[1]})
    self.done = True
    return ""

  def respond(self, content: str) -> str:
    self.answer = content
    self.actions.append({"kind": "respond", "content": content})
    self.done = True
    return ""

  def state(self) -> dict[str, Any]:
    return {}
