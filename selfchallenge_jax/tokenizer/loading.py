"""`load_tokenizer(path)`: pick the tokenizer implementation from the file's contents.

Llama 2 and Llama 3 both ship a file called `tokenizer.model`, so the name says nothing: a tiktoken
rank file is ASCII lines of `<base64> <rank>`, a SentencePiece model is a binary protobuf.
"""

from __future__ import annotations

import os
import re

from etils import epath

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.sentencepiece_tokenizer import SentencePieceTokenizer
from selfchallenge_jax.tokenizer.tiktoken_tokenizer import TiktokenTokenizer

_TIKTOKEN_LINE = re.compile(rb"^[A-Za-z0-9+/]+=*[ \t]+[0-9]+\r?$")


def detect_format(data: bytes) -> str | None:
  """"tiktoken", "sentencepiece", or None if the bytes look like neither."""
  first_line = data.lstrip(b"\r\n").split(b"\n", 1)[0]
  if _TIKTOKEN_LINE.match(first_line):
    return "tiktoken"
  # A SentencePiece ModelProto starts with field 1 (`pieces`, length-delimited): tag byte 0x0A,
  # followed by a length-prefixed SentencePiece message whose own first tag is 0x0A (the piece text).
  if data[:1] == b"\x0a" and b"\x0a" in data[1:6]:
    return "sentencepiece"
  return None


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
  """Loads a SentencePiece or Llama 3 tiktoken `tokenizer.model` (a directory means <dir>/tokenizer.model).

  Raises FileNotFoundError for a missing file and ValueError for a file of neither format.
  """
  file = epath.Path(path)
  if file.is_dir():
    file = file / "tokenizer.model"
  if not file.exists():
    raise FileNotFoundError(f"tokenizer file not found: {file}")
  data = file.read_bytes()
  source = os.fspath(file)
  if not data.strip():
    raise ValueError(f"{source}: tokenizer file is empty")
  kind = detect_format(data)
  if kind == "tiktoken":
    return TiktokenTokenizer.from_bytes(data, source)
  if kind == "sentencepiece":
    return SentencePieceTokenizer.from_bytes(data, source)
  hint = ""
  if data.lstrip()[:1] == b"{":
    hint = " It looks like JSON (an HF tokenizer.json?); pass the model's tokenizer.model instead."
  raise ValueError(
      f"{source}: unrecognized tokenizer file: neither a SentencePiece model nor a tiktoken BPE rank "
      f"file (first bytes: {data[:24]!r}).{hint}"
  )
