"""A project-trained SentencePiece tokenizer and Llama 3 chat format for tests (test helper)."""

from __future__ import annotations

import json

from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece

_TEXT = [
    json.dumps({"name": "echo", "parameters": {"text": "hello world"}}),
    "Answer: 42. The result of the tool is shown below. ok done thanks",
    "You are a helpful assistant that calls tools. What is the reverse of the string abc?",
] * 40


def make_chat(tmp_dir, vocab_size: int = 320):
  path = train_chat_sentencepiece(_TEXT, tmp_dir / "tokenizer.model", vocab_size)
  tokenizer = load_tokenizer(path)
  return tokenizer, make_chat_format("llama3", tokenizer)
