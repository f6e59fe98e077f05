"""`load_tokenizer(path)`: pick the tokenizer implementation from the file's contents.

Llama 2 and Llama 3 both ship a file called `tokenizer.model`, so the name says nothing: a tiktoken
rank file is ASCII lines of `<base64> <rank>`, a SentencePiece model is a binary protobuf. HF
`tokenizer.json` files (JSON) and GGUF files (magic bytes "GGUF") carry a byte-level BPE tokenizer
with its special tokens and chat template, read by `HFTokenizer`.
"""

from __future__ import annotations

import os
import re

from etils import epath

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.hf_tokenizer import HFTokenizer
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


def _resolve(path: str | os.PathLike[str]) -> epath.Path:
  """The file to read: a directory means its tokenizer.json, else its tokenizer.model."""
  file = epath.Path(path)
  if not file.is_dir():
    return file
  for name in ("tokenizer.json", "tokenizer.model"):  # tokenizer.json carries the chat template
    if (file / name).exists():
      return file / name
  raise FileNotFoundError(f"tokenizer file not found: {file} has neither tokenizer.json nor "
                          "tokenizer.model")


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
  """Loads a tokenizer file: SentencePiece or Llama 3 tiktoken `tokenizer.model`, HF
  `tokenizer.json` (with the `tokenizer_config.json` beside it), or a `.gguf` model file. A directory
  means its tokenizer.json if it has one, else its tokenizer.model.

  Raises FileNotFoundError for a missing file and ValueError for a file of no known format.
  """
  file = _resolve(path)
  if not file.exists():
    raise FileNotFoundError(f"tokenizer file not found: {file}")
  source = os.fspath(file)
  with file.open("rb") as f:
    magic = f.read(4)
  if magic == b"GGUF":  # a model file of ~100 MB and more: never read it whole here
    return HFTokenizer.from_gguf(source)
  data = file.read_bytes()
  if not data.strip():
    raise ValueError(f"{source}: tokenizer file is empty")
  if file.suffix == ".gguf":
    raise ValueError(f"{source}: not a GGUF file (first bytes: {data[:24]!r})")
  if data.lstrip()[:1] == b"{":
    return HFTokenizer.from_file(source)
  kind = detect_format(data)
  if kind == "tiktoken":
    return TiktokenTokenizer.from_bytes(data, source)
  if kind == "sentencepiece":
    return SentencePieceTokenizer.from_bytes(data, source)
  raise ValueError(
      f"{source}: unrecognized tokenizer file: neither a SentencePiece model, a tiktoken BPE rank "
      f"file, an HF tokenizer.json nor a GGUF file (first bytes: {data[:24]!r})."
  )
