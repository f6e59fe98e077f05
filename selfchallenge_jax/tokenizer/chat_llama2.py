"""Llama 2 chat format ([INST] ... [/INST]), as Meta's reference `chat_completion` encodes it:

  <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s><s>[INST] {user} [/INST]

Each user turn is one standalone SentencePiece sequence (BOS, dummy-prefix space); the answer that
follows continues it and ends with EOS. Llama 2 has no tool protocol, so we define one:

* tools are listed in the first user message with the same preamble and JSON as Llama 3.1;
* an assistant tool call is the Llama 3.1 JSON text `{"name": ..., "parameters": {...}}`;
* a tool result is a user turn whose content is "Tool result:\n" + the result (the roles must still
  alternate user / assistant, and the prefix tells observations apart from a simulated user).

The role mask is 1 on the answer " {answer} " (its leading space is the word boundary the model
samples right after "[/INST]"; the trailing space is part of Meta's format) and on EOS. There is no
separate generation prompt: a user turn already ends with "[/INST]", after which the model answers.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

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

B_INST, E_INST = "[INST]", "[/INST]"
B_SYS, E_SYS = "<<SYS>>\n", "\n<</SYS>>\n\n"
TOOL_RESULT_PREFIX = "Tool result:\n"


class Llama2ChatFormat(ChatFormat):
  """Llama 2 chat over a SentencePiece tokenizer (any tokenizer with BOS/EOS works)."""

  def _user_turn(self, content: str) -> RenderedChat:
    builder = TokenBuilder()
    builder.add(self.tokenizer.encode(f"{B_INST} {content.strip()} {E_INST}", bos=True))
    return builder.build()

  def render(
      self,
      messages: Sequence[Message],
      tools: Sequence[Mapping[str, Any]] | None = None,
      add_generation_prompt: bool = True,
  ) -> RenderedChat:
    del add_generation_prompt  # Every user turn already ends with the generation prompt "[/INST]".
    messages = list(messages)
    roles = [check_message(m) for m in messages]
    system = None
    if roles and roles[0] == "system":
      system = messages.pop(0)["content"]
      roles.pop(0)
    for index, role in enumerate(roles):
      expected = "assistant" if index % 2 else "user or tool"
      if (role == "assistant") != bool(index % 2) or role == "system":
        raise ValueError(
            f"Llama 2 chats alternate user/tool and assistant turns after an optional leading system "
            f"message; message {index} has role {role!r}, expected {expected}")
    if (system is not None or tools) and (not roles or roles[0] != "user"):
      raise ValueError("a system message or tools need a first user message to attach to")
    builder = TokenBuilder()
    for index, message in enumerate(messages):
      if index == 0 and (system is not None or tools):
        content = message["content"]
        if tools:
          content = TOOLS_PREAMBLE + self.tools_text(tools) + content.strip()
        if system is not None:
          content = B_SYS + system + E_SYS + content
        builder.extend(self._user_turn(content))
      else:
        builder.extend(self.render_message(message))
    return builder.build()

  def render_message(self, message: Message) -> RenderedChat:
    role = check_message(message)
    if role == "system":
      raise ValueError("Llama 2 merges the system prompt into the first user turn; use render()")
    if role in TOOL_ROLES:
      return self._user_turn(TOOL_RESULT_PREFIX + tool_result_text(message["content"]))
    if role == "user":
      return self._user_turn(message["content"])
    builder = TokenBuilder()
    builder.add(self.tokenizer.encode_segment(f" {assistant_text(message)} ") + [self.tokenizer.eos_id],
                model_written=True)
    return builder.build()

  def generation_prompt(self) -> list[int]:
    return []

  @property
  def stop_ids(self) -> tuple[int, ...]:
    return (self.tokenizer.eos_id,)
