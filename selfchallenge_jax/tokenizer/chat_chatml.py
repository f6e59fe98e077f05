"""ChatML chat format (SmolLM2, Qwen): every message is `<|im_start|>{role}\\n{content}<|im_end|>\\n`.

  <|im_start|>system\\n{system, or the template's default}<|im_end|>\\n
  <|im_start|>user\\n{user}<|im_end|>\\n
  <|im_start|>assistant\\n{answer}<|im_end|>\\n
  <|im_start|>assistant\\n                    (the generation prompt)

For plain chats (system / user / assistant text) the ids equal transformers'
`tokenizer(apply_chat_template(messages, tokenize=False), add_special_tokens=False)` with SmolLM2's
template: system and user content verbatim; a chat whose first message is not a system message gets
`default_system` first (SmolLM2: "You are a helpful AI assistant named SmolLM, trained by Hugging
Face"; `default_system_of(template)` reads it out of a template, see there).

Tools (SmolLM2's template has none; this is our convention):
* the system message gets a blank line, the one-line `TOOLS_PREAMBLE` saying how to call, and the
  tool listing (`tool_schemas`: "json" or "signatures"), the default system prompt if there is no
  system message;
* an assistant tool call is its JSON `{"name": "f", "arguments": {...}}` as the assistant content
  (one call per turn; `parse_assistant` reads "parameters" too);
* a tool result (role "tool" or "ipython") is a turn with role `tool`, content verbatim (structured
  results as JSON).

Role mask: 1 on the assistant's content tokens and its `<|im_end|>`, 0 on everything else (headers,
the newline after `<|im_end|>`, prompts, tool results). The turn's newline is not the model's: it
samples up to `<|im_end|>` (a stop id), and `continue_after_turn` appends that newline before the
observation, so the engine's appended history equals a full render.

Tokenization: special tokens are emitted by id and the text between them is encoded as one piece
(exactly what transformers does, since added tokens cut the text), except that an assistant turn's
header `assistant\\n` and its content are encoded separately: that is where the model starts
sampling after the generation prompt, so a rendered turn holds the ids the model would sample. The
content is stripped (as in our Llama 3 format and as `parse_assistant` reads replies), so it never
starts with whitespace, and then the cut is a pre-token boundary of every byte-level split regex we
load (GPT-2's, Llama 3's): a newline followed by a non-space character always ends its pre-token, so
the ids equal encoding the whole text. A content that started with two spaces or a newline would
not: GPT-2's `\\s+(?!\\S)` joins the header's newline with that whitespace into one pre-token, which
the model, given the header's newline token, could never produce; SmolLM2's template, which does not
strip, renders such (unusual) contents differently.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.chat_base import (
    TOOL_ROLES,
    ChatFormat,
    Message,
    RenderedChat,
    TokenBuilder,
    check_message,
    tool_result_text,
)

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
TOOLS_PREAMBLE = (
    "You can call the following functions. To call one, reply with only a JSON object "
    '{"name": function name, "arguments": {argument name: value}}.\n\n'
)
# A Jinja string literal that writes a whole system turn, e.g. SmolLM2's
#   '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, ...<|im_end|>\n'
# (the newline either raw or escaped as \n in the template source).
_DEFAULT_SYSTEM = re.compile(
    r"""(['"])<\|im_start\|>system(?:\n|\\n)((?:(?!\1)[^\\]|\\.)*?)<\|im_end\|>""", re.DOTALL)
_JINJA_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_JINJA_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def default_system_of(template: str | None) -> str | None:
  """The default system prompt of a ChatML template, or None.

  Read with a regex: the first string literal of the template that writes a complete system turn
  (`'<|im_start|>system\\n...<|im_end|>'`), which is how SmolLM2 and Qwen2.5 templates insert their
  default when the chat has no system message. Templates that build it some other way yield None
  (pass `default_system=` yourself).
  """
  match = _DEFAULT_SYSTEM.search(template or "")
  if match is None:
    return None
  return _JINJA_ESCAPE.sub(lambda m: _JINJA_ESCAPES.get(m.group(1), m.group(1)), match.group(2))


class ChatMLChatFormat(ChatFormat):
  """ChatML over a tokenizer that defines <|im_start|> and <|im_end|> as special tokens."""

  tool_arguments_key = "arguments"

  def __init__(
      self,
      tokenizer: Tokenizer,
      *,
      default_system: str | None = None,
      tool_schemas: str = "json",
  ) -> None:
    super().__init__(tokenizer, tool_schemas=tool_schemas)
    missing = [name for name in (IM_START, IM_END) if not tokenizer.has_token(name)]
    if missing:
      raise ValueError(f"the ChatML chat format needs special tokens {missing}, which this "
                       "tokenizer lacks")
    self.default_system = default_system
    self._start = tokenizer.token_id(IM_START)
    self._end = tokenizer.token_id(IM_END)
    self._newline = tokenizer.encode_segment("\n")
    stops = [self._end]
    if tokenizer.has_token("<|endoftext|>"):
      stops.append(tokenizer.token_id("<|endoftext|>"))
    self._stop_ids = tuple(stops)
    self._generation_prompt = [self._start, *tokenizer.encode_segment("assistant\n")]

  def _turn(self, role: str, content: str) -> RenderedChat:
    builder = TokenBuilder()
    builder.add([self._start, *self.tokenizer.encode_segment(f"{role}\n{content}"), self._end,
                 *self._newline])
    return builder.build()

  def system_text(self, system: str | None, tools: Sequence[Mapping[str, Any]] | None) -> str | None:
    """The system turn's content: the system prompt, then the tool instructions and listing."""
    if not tools:
      return system
    listing = TOOLS_PREAMBLE + self.tools_text(tools).rstrip("\n")
    return f"{system}\n\n{listing}" if system else listing

  def render(
      self,
      messages: Sequence[Message],
      tools: Sequence[Mapping[str, Any]] | None = None,
      add_generation_prompt: bool = True,
  ) -> RenderedChat:
    messages = list(messages)
    for message in messages:
      check_message(message)
    system = None
    if messages and messages[0]["role"] == "system":
      system = messages.pop(0)["content"]
    elif messages or tools:  # SmolLM2's template adds its default only to a non-empty chat
      system = self.default_system
    system = self.system_text(system, tools)
    builder = TokenBuilder()
    if system is not None:
      builder.extend(self._turn("system", system))
    for message in messages:
      builder.extend(self.render_message(message))
    if add_generation_prompt:
      builder.add(self.generation_prompt())
    return builder.build()

  def render_message(self, message: Message) -> RenderedChat:
    role = check_message(message)
    if role in TOOL_ROLES:
      return self._turn("tool", tool_result_text(message["content"]))
    if role != "assistant":
      return self._turn(role, message["content"])
    builder = TokenBuilder()
    builder.add(self._generation_prompt)
    builder.add(self.tokenizer.encode_segment(self.assistant_text(message)) + [self._end],
                model_written=True)
    builder.add(self._newline)
    return builder.build()

  def continue_after_turn(self, message: Message) -> list[int]:
    # The sampled turn ends at <|im_end|>; the newline that closes it in `render` comes first.
    return self._newline + super().continue_after_turn(message)

  def generation_prompt(self) -> list[int]:
    return list(self._generation_prompt)

  @property
  def stop_ids(self) -> tuple[int, ...]:
    return self._stop_ids
