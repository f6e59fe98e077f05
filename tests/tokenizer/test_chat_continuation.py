"""The invariant the multi-turn engine relies on, for ChatML and Llama 3: the rendered prompt, then per
turn the sampled ids (assistant text + stop token) and `continue_after_turn(observation)`, equals
`render` of the whole chat token for token, with the role mask on exactly the sampled ids."""

from __future__ import annotations

import pytest

from selfchallenge_jax.tokenizer import ToolCall, load_tokenizer, make_chat_format

TOOLS = [{
    "type": "function",
    "function": {
        "name": "reverse",
        "description": "Reverses a string.",
        "parameters": {"type": "object", "properties": {"s": {"type": "string"}}, "required": ["s"]},
    },
}]
PROMPT = [{"role": "system", "content": "You are a helpful assistant."},
          {"role": "user", "content": "Reverse 'abc', then tell me 12 + 30."}]
TURNS = [  # (what the model writes, the environment's reply)
    (ToolCall("reverse", {"s": "abc"}).to_message(), {"role": "ipython", "content": "cba"}),
    ({"role": "assistant", "content": "The reverse is cba."},
     {"role": "user", "content": "Now <|im_end|> 12 + 30, please.\n"}),
    (ToolCall("reverse", {"s": "东京 😀"}).to_message(),
     {"role": "tool", "content": {"result": "😀 京东"}}),
    ({"role": "assistant", "content": "42"}, None),
]


def _episode(chat, turns):
  """Token bookkeeping as the engine does it: nothing is re-rendered."""
  ids = chat.render(PROMPT, tools=TOOLS, add_generation_prompt=True).ids
  mask = [0] * len(ids)
  for message, observation in turns:
    sampled = chat.tokenizer.encode_segment(chat.assistant_text(message)) + [chat.stop_ids[0]]
    ids, mask = ids + sampled, mask + [1] * len(sampled)
    if observation is not None:
      appended = chat.continue_after_turn(observation)
      ids, mask = ids + appended, mask + [0] * len(appended)
  return ids, mask


@pytest.fixture(scope="module", params=["chatml", "llama3"])
def chat(request, tiny_gguf_path, tiktoken_model_path):
  if request.param == "chatml":
    return make_chat_format("auto", load_tokenizer(tiny_gguf_path))
  return make_chat_format("llama3", load_tokenizer(tiktoken_model_path))


@pytest.mark.parametrize("num_turns", [1, 2, 3])
def test_appended_turns_equal_a_full_render(chat, num_turns):
  turns = TURNS[:num_turns]
  ids, mask = _episode(chat, turns)
  messages = PROMPT + [m for turn in turns for m in turn]
  rendered = chat.render(messages, tools=TOOLS, add_generation_prompt=True)
  assert ids == rendered.ids
  assert mask == rendered.role_mask


def test_finished_episode_is_a_prefix_of_the_render(chat):
  # After the last turn nothing is appended; a render closes the turn after the stop token
  # (ChatML's newline), so the episode is the render up to and including that stop token.
  ids, mask = _episode(chat, TURNS)
  messages = PROMPT + [m for turn in TURNS for m in turn if m is not None]
  rendered = chat.render(messages, tools=TOOLS, add_generation_prompt=False)
  assert rendered.ids[:len(ids)] == ids and rendered.role_mask[:len(mask)] == mask
  assert not any(rendered.role_mask[len(ids):])
  assert chat.tokenizer.decode(rendered.ids[len(ids):]) in ("", "\n")


def test_llama3_continuation_is_unchanged(tiktoken_model_path):
  # Llama 3's turns end with their stop token: exactly the engine's former append.
  chat = make_chat_format("llama3", load_tokenizer(tiktoken_model_path))
  observation = {"role": "ipython", "content": "cba"}
  assert chat.continue_after_turn(observation) == (
      chat.render_message(observation).ids + chat.generation_prompt())
