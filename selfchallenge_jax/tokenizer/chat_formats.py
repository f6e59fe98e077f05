"""Chat formats by name, so configs can say `chat_format="llama3"`."""

from __future__ import annotations

from typing import Any, Callable

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.chat_base import ChatFormat
from selfchallenge_jax.tokenizer.chat_llama2 import Llama2ChatFormat
from selfchallenge_jax.tokenizer.chat_llama3 import Llama3ChatFormat

CHAT_FORMATS: dict[str, Callable[..., ChatFormat]] = {
    "llama3": Llama3ChatFormat,  # Llama 3.1 / 3.2 instruct, JSON tool calls, ipython role
    "llama2": Llama2ChatFormat,
}


def make_chat_format(name: str, tokenizer: Tokenizer, **kwargs: Any) -> ChatFormat:
  """The chat format `name` over `tokenizer`; ValueError listing the known names if unknown."""
  try:
    factory = CHAT_FORMATS[name]
  except KeyError:
    raise ValueError(f"unknown chat format {name!r}; known: {sorted(CHAT_FORMATS)}") from None
  return factory(tokenizer, **kwargs)
