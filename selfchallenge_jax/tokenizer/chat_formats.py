"""Chat formats by name, so configs can say `chat_format="llama3"`, or "auto" to follow the tokenizer's
own chat template (HF tokenizers and GGUF files carry one)."""

from __future__ import annotations

from typing import Any, Callable

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.chat_base import ChatFormat
from selfchallenge_jax.tokenizer.chat_chatml import ChatMLChatFormat, default_system_of
from selfchallenge_jax.tokenizer.chat_llama2 import Llama2ChatFormat
from selfchallenge_jax.tokenizer.chat_llama3 import Llama3ChatFormat

CHAT_FORMATS: dict[str, Callable[..., ChatFormat]] = {
    "llama3": Llama3ChatFormat,  # Llama 3.1 / 3.2 instruct, JSON tool calls, ipython role
    "llama2": Llama2ChatFormat,
    "chatml": ChatMLChatFormat,  # SmolLM2 / Qwen instruct; our JSON tool-call convention
}


def chat_format_for_template(template: str | None) -> str:
  """The format name a chat template renders: "chatml" (<|im_start|>) or "llama3"
  (<|start_header_id|>); ValueError for anything else."""
  if not template:
    raise ValueError("no chat template to pick a chat format from; name the format instead "
                     f"(one of {sorted(CHAT_FORMATS)})")
  if "<|im_start|>" in template:
    return "chatml"
  if "<|start_header_id|>" in template:
    return "llama3"
  raise ValueError(
      "unrecognized chat template (neither ChatML's <|im_start|> nor Llama 3's "
      f"<|start_header_id|>): {template[:120]!r}...; name the format instead "
      f"(one of {sorted(CHAT_FORMATS)})")


def make_chat_format(name: str, tokenizer: Tokenizer, **kwargs: Any) -> ChatFormat:
  """The chat format `name` over `tokenizer`; ValueError listing the known names if unknown.

  "auto" picks the format from `tokenizer.chat_template`; for ChatML it also takes the template's
  default system prompt unless `default_system` is given.
  """
  if name == "auto":
    template = getattr(tokenizer, "chat_template", None)
    if template is None:
      raise ValueError(
          f"chat format 'auto' needs a tokenizer with a chat template (an HF tokenizer.json with "
          f"its tokenizer_config.json, or a GGUF file); this {type(tokenizer).__name__} has none: "
          f"name the format instead (one of {sorted(CHAT_FORMATS)})")
    name = chat_format_for_template(template)
    if name == "chatml":
      kwargs.setdefault("default_system", default_system_of(template))
  try:
    factory = CHAT_FORMATS[name]
  except KeyError:
    raise ValueError(
        f"unknown chat format {name!r}; known: {sorted(CHAT_FORMATS)} or 'auto'") from None
  return factory(tokenizer, **kwargs)
