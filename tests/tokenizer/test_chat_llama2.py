"""Llama 2 [INST] chat rendering: Meta's reference token layout, our tool convention, role mask."""

from __future__ import annotations

import pytest
import sentencepiece as spm

from selfchallenge_jax.tokenizer import Llama2ChatFormat, ToolCall, load_tokenizer

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]


@pytest.fixture(scope="module")
def tok(sp_plain_model_path):
  return load_tokenizer(sp_plain_model_path)


@pytest.fixture(scope="module")
def native(sp_plain_model_path) -> spm.SentencePieceProcessor:
  return spm.SentencePieceProcessor(model_file=str(sp_plain_model_path))


@pytest.fixture(scope="module")
def fmt(tok) -> Llama2ChatFormat:
  return Llama2ChatFormat(tok)


def meta_reference(native: spm.SentencePieceProcessor, dialog: list[dict]) -> list[int]:
  """Llama 2's reference chat encoding (llama/generation.py chat_completion), written out."""
  if dialog[0]["role"] == "system":
    dialog = [{"role": dialog[1]["role"], "content": "<<SYS>>\n" + dialog[0]["content"]
               + "\n<</SYS>>\n\n" + dialog[1]["content"]}] + dialog[2:]
  ids: list[int] = []
  for prompt, answer in zip(dialog[::2], dialog[1::2]):
    text = f"[INST] {prompt['content'].strip()} [/INST] {answer['content'].strip()} "
    ids += [native.bos_id()] + native.encode(text) + [native.eos_id()]
  if len(dialog) % 2:
    ids += [native.bos_id()] + native.encode(f"[INST] {dialog[-1]['content'].strip()} [/INST]")
  return ids


DIALOG = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello there"},
    {"role": "assistant", "content": "Hello, how can I help?"},
    {"role": "user", "content": "What is the weather in Paris?"},
]


def test_matches_meta_reference_encoding(fmt, tok, native):
  rendered = fmt.render(DIALOG)
  assert rendered.ids == meta_reference(native, DIALOG)
  assert tok.decode(rendered.ids) == (
      "<s> [INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello there [/INST] "
      "Hello, how can I help? </s><s> [INST] What is the weather in Paris? [/INST]")
  assert fmt.generation_prompt() == []
  assert fmt.render(DIALOG, add_generation_prompt=False).ids == rendered.ids


def test_role_mask_is_answer_and_eos(fmt, tok):
  rendered = fmt.render(DIALOG[:3])
  written = [i for i, m in zip(rendered.ids, rendered.role_mask) if m]
  assert written == tok.encode_segment(" Hello, how can I help? ") + [tok.eos_id]
  assert rendered.role_mask[-len(written):] == [1] * len(written)
  assert not any(rendered.role_mask[:-len(written)])
  assert fmt.stop_ids == (tok.eos_id,)


def test_tool_conversation_layout(fmt, tok, native):
  messages = [
      {"role": "user", "content": "Add 2 and 3."},
      ToolCall("add", {"a": 2, "b": 3}).to_message(),
      {"role": "tool", "content": "5"},
      {"role": "assistant", "content": "The sum is 5."},
  ]
  first_user = (
      "Given the following functions, please respond with a JSON for a function call with "
      "its proper arguments that best answers the given prompt.\n\n"
      'Respond in the format {"name": function name, "parameters": dictionary of argument name and '
      "its value}.Do not use variables.\n\n"
      '{\n    "type": "function",\n    "function": {\n        "name": "add",\n'
      '        "parameters": {\n            "type": "object"\n        }\n    }\n}\n\n'
      "Add 2 and 3.")
  rendered = fmt.render(messages, tools=TOOLS)
  assert tok.decode(rendered.ids) == (
      f"<s> [INST] {first_user} [/INST] "
      '{"name": "add", "parameters": {"a": 2, "b": 3}} </s>'
      "<s> [INST] Tool result:\n5 [/INST] The sum is 5. </s>")
  # Tools, the tool call and the tool result are ordinary turns of Meta's reference layout.
  assert rendered.ids == meta_reference(native, [
      {"role": "user", "content": first_user},
      {"role": "assistant", "content": '{"name": "add", "parameters": {"a": 2, "b": 3}}'},
      {"role": "user", "content": "Tool result:\n5"},
      {"role": "assistant", "content": "The sum is 5."},
  ])
  written = [i for i, m in zip(rendered.ids, rendered.role_mask) if m]
  assert written == (tok.encode_segment(' {"name": "add", "parameters": {"a": 2, "b": 3}} ')
                     + [tok.eos_id] + tok.encode_segment(" The sum is 5. ") + [tok.eos_id])


def test_incremental_appends(fmt):
  messages = DIALOG + [ToolCall("add", {"a": 1}).to_message(), {"role": "tool", "content": "1"}]
  for k in range(2, len(messages)):
    before = fmt.render(messages[:k])
    appended = fmt.render_message(messages[k])
    after = fmt.render(messages[:k + 1])
    assert before.ids + appended.ids == after.ids
    assert before.role_mask + appended.role_mask == after.role_mask


def test_bad_chats(fmt):
  with pytest.raises(ValueError, match="alternate"):
    fmt.render([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
  with pytest.raises(ValueError, match="alternate"):
    fmt.render([{"role": "assistant", "content": "a"}])
  with pytest.raises(ValueError, match="first user message"):
    fmt.render([{"role": "system", "content": "s"}])
  with pytest.raises(ValueError, match="use render"):
    fmt.render_message({"role": "system", "content": "s"})
