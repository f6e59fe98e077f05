"""Tokenizers (SentencePiece, Llama 3 tiktoken BPE, HF byte-level BPE from tokenizer.json or GGUF) and
the one place that turns chats into ids."""

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.chat_base import ChatFormat, RenderedChat
from selfchallenge_jax.tokenizer.chat_chatml import ChatMLChatFormat, default_system_of
from selfchallenge_jax.tokenizer.chat_formats import (
    CHAT_FORMATS,
    chat_format_for_template,
    make_chat_format,
)
from selfchallenge_jax.tokenizer.chat_llama2 import Llama2ChatFormat
from selfchallenge_jax.tokenizer.chat_llama3 import Llama3ChatFormat
from selfchallenge_jax.tokenizer.hf_tokenizer import HFTokenizer
from selfchallenge_jax.tokenizer.loading import load_tokenizer
from selfchallenge_jax.tokenizer.sentencepiece_tokenizer import SentencePieceTokenizer
from selfchallenge_jax.tokenizer.tiktoken_tokenizer import LLAMA3_SPECIAL_TOKENS, TiktokenTokenizer
from selfchallenge_jax.tokenizer.tool_calls import ToolCall, format_tool_call, parse_assistant

__all__ = [
    "CHAT_FORMATS",
    "ChatFormat",
    "ChatMLChatFormat",
    "HFTokenizer",
    "LLAMA3_SPECIAL_TOKENS",
    "Llama2ChatFormat",
    "Llama3ChatFormat",
    "RenderedChat",
    "SentencePieceTokenizer",
    "TiktokenTokenizer",
    "Tokenizer",
    "ToolCall",
    "chat_format_for_template",
    "default_system_of",
    "format_tool_call",
    "load_tokenizer",
    "make_chat_format",
    "parse_assistant",
]
