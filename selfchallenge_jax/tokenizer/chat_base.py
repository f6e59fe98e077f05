"""What every chat format provides, and the message layout they all accept.

Messages are dicts in the HF / OpenAI layout:
  {"role": "system" | "user" | "assistant", "content": str}
  {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
                                                       "function": {"name": str, "arguments": dict}}]}
  {"role": "tool" | "ipython", "content": str | dict | list}    # a tool result
`ToolCall.to_message()` builds the tool-call form. Tools are JSON schemas as `env.tools` returns them.

Rendering is the one place where chats become token ids. It returns, per token, a role mask that is 1
exactly where the model wrote the token (assistant content and its end-of-turn token), which the RL
loss uses; everything else (headers, prompts, tool results) is 0.

The multi-turn rollout engine never re-renders a history: it renders the prompt once, keeps the
sampled ids, and appends `continue_after_turn(observation)` after each sampled turn, which every format
keeps equal to what `render` of the whole chat puts there.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import re
from typing import Any, Mapping, Sequence

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.tool_calls import ToolCall, format_tool_call, parse_assistant

Message = Mapping[str, Any]
TOOL_ROLES = ("tool", "ipython")
_ROLES = ("system", "user", "assistant") + TOOL_ROLES

#: The tool-use instructions of HF's Llama 3.1 template (reused by our Llama 2 format).
TOOLS_PREAMBLE = (
    "Given the following functions, please respond with a JSON for a function call "
    "with its proper arguments that best answers the given prompt.\n\n"
    'Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
    'value}.Do not use variables.\n\n'
)


@dataclasses.dataclass(frozen=True)
class RenderedChat:
  """Token ids of a chat and, per token, 1 if the model wrote it (assistant content + end of turn)."""

  ids: list[int]
  role_mask: list[int]

  def __post_init__(self) -> None:
    if len(self.ids) != len(self.role_mask):
      raise ValueError(f"{len(self.ids)} ids but {len(self.role_mask)} mask entries")


class TokenBuilder:
  """Accumulates ids with their role-mask value, one piece at a time."""

  def __init__(self) -> None:
    self.ids: list[int] = []
    self.role_mask: list[int] = []

  def add(self, ids: Sequence[int], *, model_written: bool = False) -> None:
    self.ids.extend(ids)
    self.role_mask.extend([int(model_written)] * len(ids))

  def extend(self, other: RenderedChat) -> None:
    self.ids.extend(other.ids)
    self.role_mask.extend(other.role_mask)

  def build(self) -> RenderedChat:
    return RenderedChat(list(self.ids), list(self.role_mask))


def check_message(message: Message) -> str:
  """Returns the role; ValueError with the offending message if it is malformed."""
  role = message.get("role") if isinstance(message, Mapping) else None
  if role not in _ROLES:
    raise ValueError(f"message role must be one of {_ROLES}, got {message!r}")
  if role == "assistant" and message.get("tool_calls"):
    return role
  content = message.get("content")
  if role in TOOL_ROLES:
    if not isinstance(content, (str, dict, list)):
      raise ValueError(f"tool result content must be str, dict or list: {message!r}")
  elif not isinstance(content, str):
    raise ValueError(f"{role} message content must be a string: {message!r}")
  return role


def tool_call_of(message: Message) -> ToolCall | None:
  """The single tool call of an assistant message, or None; ValueError for several calls."""
  calls = message.get("tool_calls") or []
  if not calls:
    return None
  if len(calls) != 1:
    raise ValueError(f"Llama 3.1 supports one tool call per assistant turn, got {len(calls)}")
  call = calls[0]
  if isinstance(call, ToolCall):
    return call
  function = call.get("function", call)
  arguments = function.get("arguments", {})
  if isinstance(arguments, str):  # OpenAI clients send arguments as a JSON string.
    arguments = json.loads(arguments) if arguments.strip() else {}
  return ToolCall(function["name"], arguments)


def assistant_text(message: Message, *, arguments_key: str = "parameters") -> str:
  """What the model wrote in an assistant turn: its tool call's JSON, else its trimmed content."""
  call = tool_call_of(message)
  if call is not None:
    return format_tool_call(call.name, call.arguments, arguments_key=arguments_key)
  return message["content"].strip()


def tool_result_text(content: str | dict | list) -> str:
  # Structured results are JSON (as HF's `tojson`); strings verbatim, as Meta's reference format does.
  # (HF's Jinja template also `tojson`s plain strings, quoting them, because a string "is iterable".)
  return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def tools_json(tools: Sequence[Mapping[str, Any]]) -> str:
  """Tool schemas as HF's `tojson(indent=4)` prints them, each followed by a blank line."""
  return "".join(json.dumps(tool, ensure_ascii=False, indent=4) + "\n\n" for tool in tools)


# M3ToolEval's descriptions end by restating the signature ("Signature: f(x: str) -> str").
_RESTATED_SIGNATURE = re.compile(r"\s*Signature:\s*(?P<name>[\w.]+)\s*\(.*?\)\s*->\s*(?P<ret>.+?)\s*$")


def tool_signatures(tools: Sequence[Mapping[str, Any]]) -> str:
  """One line per tool, `name(arg: type, optional_arg?: type) -> ret: description`, then a blank
  line.

  The same facts as the JSON schemas (names, argument names and types, which are required, the
  description) in about a third of the tokens: for small models, whose context and attention
  cost the JSON listing would dominate. A description that ends by restating the tool's signature
  (M3ToolEval's "Signature: f(x: str) -> str") gives only its return type, after the arguments:
  the rest is the line itself. Pretrained Llama 3.1 models expect `tools_json`.
  """
  lines = []
  for tool in tools:
    function = tool.get("function", tool)
    parameters = function.get("parameters") or {}
    required = set(parameters.get("required") or ())
    args = ", ".join(
        f"{name}{'' if name in required else '?'}: {spec.get('type', 'any')}"
        for name, spec in (parameters.get("properties") or {}).items())
    description = " ".join(str(function.get("description", "")).split())
    head = f"{function['name']}({args})"
    restated = _RESTATED_SIGNATURE.search(description)
    if restated and restated.group("name") == function["name"]:
      description = description[:restated.start()].rstrip()
      head += f" -> {restated.group('ret')}"
    lines.append(head + (f": {description}" if description else ""))
  return "\n".join(lines) + "\n\n"


#: How a chat format lists the tools it is given (`tool_schemas=` of every ChatFormat).
TOOL_SCHEMA_STYLES = {"json": tools_json, "signatures": tool_signatures}


class ChatFormat(abc.ABC):
  """A chat template over a tokenizer: render chats, append turns, parse replies."""

  #: The key of a tool call's arguments in the JSON this format's assistant writes (Llama 3.1's
  #: "parameters"; `parse_assistant` reads either key back).
  tool_arguments_key = "parameters"

  def __init__(self, tokenizer: Tokenizer, *, tool_schemas: str = "json") -> None:
    if tool_schemas not in TOOL_SCHEMA_STYLES:
      raise ValueError(f"tool_schemas must be one of {sorted(TOOL_SCHEMA_STYLES)}, got "
                       f"{tool_schemas!r}")
    self.tokenizer = tokenizer
    self.tool_schemas = tool_schemas

  def tools_text(self, tools: Sequence[Mapping[str, Any]]) -> str:
    """The tool listing this format puts before the first user message (or in the system one)."""
    return TOOL_SCHEMA_STYLES[self.tool_schemas](tools)

  @abc.abstractmethod
  def render(
      self,
      messages: Sequence[Message],
      tools: Sequence[Mapping[str, Any]] | None = None,
      add_generation_prompt: bool = True,
  ) -> RenderedChat:
    """A whole chat (BOS first), optionally followed by the assistant's generation prompt."""

  @abc.abstractmethod
  def render_message(self, message: Message) -> RenderedChat:
    """One message appended to an already rendered chat (e.g. a tool result)."""

  @abc.abstractmethod
  def generation_prompt(self) -> list[int]:
    """Ids that open an assistant turn; the model samples right after them."""

  @property
  @abc.abstractmethod
  def stop_ids(self) -> tuple[int, ...]:
    """Ids that end an assistant turn when sampled."""

  def continue_after_turn(self, message: Message) -> list[int]:
    """Ids to append after a sampled assistant turn's stop token: `message` (an observation), then
    the next generation prompt. The engine relies on: render(prompt) + sampled turn + these ids ==
    render(the chat with that turn and `message`), token for token. Formats whose turns close with
    more than the stop token (ChatML's newline) add it here."""
    return self.render_message(message).ids + self.generation_prompt()

  def tool_call_text(self, call: ToolCall) -> str:
    """A tool call spelled as this format's assistant writes it."""
    return format_tool_call(call.name, call.arguments, arguments_key=self.tool_arguments_key)

  def assistant_text(self, message: Message) -> str:
    """What the model wrote in an assistant message, in this format's tool-call spelling."""
    return assistant_text(message, arguments_key=self.tool_arguments_key)

  def parse_assistant(self, text: str) -> ToolCall | str:
    """A sampled assistant reply -> a ToolCall, or the reply text."""
    return parse_assistant(text)
