"""Llama 3.1 chat format with JSON tool calling, as HF's Llama 3.1 chat template renders it.

  <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n
  Environment: ipython\n                      (only when tools are given)
  Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{system}<|eot_id|>
  <|start_header_id|>user<|end_header_id|>\n\n{TOOLS_PREAMBLE}{tool JSON, indent 4}\n\n{user}<|eot_id|>
  <|start_header_id|>assistant<|end_header_id|>\n\n{"name": "f", "parameters": {...}}<|eot_id|>
  <|start_header_id|>ipython<|end_header_id|>\n\n{tool result}<|eot_id|>
  <|start_header_id|>assistant<|end_header_id|>\n\n{answer}<|eot_id|>

Conventions kept from the HF template: system/user/assistant content is stripped; tools go into the
first user message by default (`tools_in_user_message=False` puts them in the system message); one
tool call per assistant turn, whose `content` is ignored. Deliberate differences: a string tool result
is rendered verbatim (HF's Jinja `tojson`s it into a quoted string; Meta's reference format does not),
and `tools=[]` counts as no tools.

Tokenization: special tokens are emitted by id; the text between two special tokens is encoded as one
piece, except that an assistant turn's header "\n\n" and its content are encoded separately. That split
is where the model starts sampling after the generation prompt, so rendered and sampled assistant
turns tokenize alike; because content is stripped, no token could cross it anyway, and the ids equal
encoding the whole rendered string with special tokens allowed.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.chat_base import (
    TOOL_ROLES,
    TOOLS_PREAMBLE,
    ChatFormat,
    Message,
    RenderedChat,
    TokenBuilder,
    assistant_text,
    check_message,
    tool_result_text,
)

KNOWLEDGE_CUTOFF = "December 2023"
DEFAULT_DATE = "26 Jul 2024"  # HF template's default `date_string`
SYSTEM_TOOLS_PREAMBLE = (
    "You have access to the following functions. To call a function, please respond with JSON for a "
    'function call.Respond in the format {"name": function name, "parameters": dictionary of argument '
    'name and its value}.Do not use variables.\n\n'
)
_REQUIRED = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")


class Llama3ChatFormat(ChatFormat):
  """Llama 3.1 instruct format over any tokenizer that defines its header and end-of-turn tokens."""

  def __init__(
      self,
      tokenizer: Tokenizer,
      *,
      date_string: str = DEFAULT_DATE,
      tools_in_user_message: bool = True,
      tool_schemas: str = "json",
  ) -> None:
    super().__init__(tokenizer, tool_schemas=tool_schemas)
    missing = [name for name in _REQUIRED if not tokenizer.has_token(name)]
    if missing:
      raise ValueError(
          f"the Llama 3 chat format needs special tokens {missing}, which this tokenizer lacks "
          "(a SentencePiece model can define them as user_defined_symbols)")
    self.date_string = date_string
    self.tools_in_user_message = tools_in_user_message
    self._start = tokenizer.token_id("<|start_header_id|>")
    self._end = tokenizer.token_id("<|end_header_id|>")
    self._eot = tokenizer.token_id("<|eot_id|>")
    self._bos = (tokenizer.token_id("<|begin_of_text|>") if tokenizer.has_token("<|begin_of_text|>")
                 else tokenizer.bos_id)
    stops = [self._eot]
    if tokenizer.has_token("<|eom_id|>"):
      stops.append(tokenizer.token_id("<|eom_id|>"))
    stops.append(tokenizer.eos_id)  # base models end with end-of-text instead
    self._stop_ids = tuple(dict.fromkeys(stops))
    self._generation_prompt = self._header("assistant") + tokenizer.encode_segment("\n\n")

  def _header(self, role: str) -> list[int]:
    return [self._start, *self.tokenizer.encode_segment(role), self._end]

  def _turn(self, role: str, text: str) -> RenderedChat:
    builder = TokenBuilder()
    builder.add(self._header(role) + self.tokenizer.encode_segment("\n\n" + text) + [self._eot])
    return builder.build()

  def render(
      self,
      messages: Sequence[Message],
      tools: Sequence[Mapping[str, Any]] | None = None,
      add_generation_prompt: bool = True,
  ) -> RenderedChat:
    messages = list(messages)
    for message in messages:
      check_message(message)
    system = ""
    if messages and messages[0]["role"] == "system":
      system = messages.pop(0)["content"].strip()
    tools = list(tools) if tools else None

    head = "Environment: ipython\n" if tools else ""
    head += f"Cutting Knowledge Date: {KNOWLEDGE_CUTOFF}\nToday Date: {self.date_string}\n\n"
    if tools and not self.tools_in_user_message:
      head += SYSTEM_TOOLS_PREAMBLE + self.tools_text(tools)
    builder = TokenBuilder()
    builder.add([self._bos])
    builder.extend(self._turn("system", head + system))
    if tools and self.tools_in_user_message:
      if not messages or messages[0]["role"] != "user":
        raise ValueError("tools go into the first user message, but the chat has no user message "
                         "after the system message")
      first_user = messages.pop(0)["content"].strip()
      builder.extend(self._turn("user", TOOLS_PREAMBLE + self.tools_text(tools) + first_user))
    for message in messages:
      builder.extend(self.render_message(message))
    if add_generation_prompt:
      builder.add(self.generation_prompt())
    return builder.build()

  def render_message(self, message: Message) -> RenderedChat:
    role = check_message(message)
    if role == "assistant":
      builder = TokenBuilder()
      builder.add(self._generation_prompt)
      builder.add(self.tokenizer.encode_segment(assistant_text(message)) + [self._eot],
                  model_written=True)
      return builder.build()
    if role in TOOL_ROLES:
      return self._turn("ipython", tool_result_text(message["content"]))
    return self._turn(role, message["content"].strip())

  def generation_prompt(self) -> list[int]:
    return list(self._generation_prompt)

  @property
  def stop_ids(self) -> tuple[int, ...]:
    return self._stop_ids
