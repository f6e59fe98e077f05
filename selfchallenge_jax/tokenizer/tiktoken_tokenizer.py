"""Llama 3 / 3.1 BPE tokenizer: a tiktoken-format `tokenizer.model` plus 256 special tokens.

The file holds one `<base64 token bytes> <rank>` pair per line; ranks are ids 0..N-1. The special
tokens are not in the file: Llama 3 appends 256 of them after the base vocabulary, in the fixed order
below (meta-llama/llama-models, models/llama3_1/api/tokenizer.py), so with the released 128000-token
file <|begin_of_text|> = 128000, <|eot_id|> = 128009, <|python_tag|> = 128010.

Naming note: HF's tokenizer.json for Llama 3.1 calls id N+5 "<|reserved_special_token_2|>" (not
"<|step_id|>") and numbers the later reserved tokens one higher. Every functional token has the same id
in both; only the names of unused reserved slots differ.
"""

from __future__ import annotations

import base64
import binascii
from typing import Iterator, Mapping, Sequence

import tiktoken

from selfchallenge_jax.tokenizer.base import Tokenizer

#: Llama 3's pre-tokenization regex (cl100k-style; numbers split into runs of at most 3 digits).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
NUM_SPECIAL_TOKENS = 256
_NAMED_SPECIAL_TOKENS = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|step_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",  # end of message: the model expects a tool result next (builtin tools)
    "<|eot_id|>",  # end of turn
    "<|python_tag|>",
)
#: All 256 special-token names in id order (id = base vocab size + index).
LLAMA3_SPECIAL_TOKENS: tuple[str, ...] = _NAMED_SPECIAL_TOKENS + tuple(
    f"<|reserved_special_token_{2 + i}|>"
    for i in range(NUM_SPECIAL_TOKENS - len(_NAMED_SPECIAL_TOKENS))
)

# tiktoken's Rust core panics above ~400k characters and gets quadratic on very long runs of
# (non-)whitespace (openai/tiktoken#195); Llama 3's reference code slices input the same way. The cuts
# fall where the pre-tokenizer would not merge across them in practice.
_MAX_ENCODE_CHARS = 400_000
_MAX_RUN_CHARS = 25_000


def read_bpe_ranks(data: bytes, source: str = "<bytes>") -> dict[bytes, int]:
  """Parses a tiktoken rank file; ValueError naming the first bad line."""
  ranks: dict[bytes, int] = {}
  for number, line in enumerate(data.splitlines(), start=1):
    if not line.strip():
      continue
    parts = line.split()
    try:
      if len(parts) != 2:
        raise ValueError("expected '<base64 token> <rank>'")
      token, rank = base64.b64decode(parts[0], validate=True), int(parts[1])
    except (ValueError, binascii.Error) as e:
      raise ValueError(f"{source}: line {number} is not a tiktoken BPE entry ({e}): {line[:80]!r}")
    if token in ranks:
      raise ValueError(f"{source}: line {number}: token {token!r} listed twice")
    ranks[token] = rank
  if not ranks:
    raise ValueError(f"{source}: no BPE entries")
  # Special ids start at len(ranks): ranks must be exactly 0..N-1 or ids would collide.
  if sorted(ranks.values()) != list(range(len(ranks))):
    raise ValueError(f"{source}: BPE ranks must be the distinct integers 0..{len(ranks) - 1}")
  return ranks


def _split_long_runs(text: str) -> Iterator[str]:
  for start in range(0, len(text), _MAX_ENCODE_CHARS):
    chunk = text[start:start + _MAX_ENCODE_CHARS]
    run, is_space, cut = 0, chunk[:1].isspace(), 0
    for i, char in enumerate(chunk):
      if char.isspace() != is_space:
        run, is_space = 1, char.isspace()
      else:
        run += 1
        if run > _MAX_RUN_CHARS:
          yield chunk[cut:i]
          cut, run = i, 1
    yield chunk[cut:]


class TiktokenTokenizer(Tokenizer):
  """Llama 3 BPE over a rank table, with Llama 3.1's special tokens appended."""

  def __init__(self, ranks: Mapping[bytes, int], name: str = "llama3") -> None:
    self._num_base = len(ranks)
    self._special = {tok: self._num_base + i for i, tok in enumerate(LLAMA3_SPECIAL_TOKENS)}
    self._encoding = tiktoken.Encoding(
        name=name,
        pat_str=LLAMA3_PATTERN,
        mergeable_ranks=dict(ranks),
        special_tokens=self._special,
    )

  @classmethod
  def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "TiktokenTokenizer":
    return cls(read_bpe_ranks(data, source), name=source)

  @property
  def vocab_size(self) -> int:
    return self._num_base + len(self._special)

  @property
  def num_base_tokens(self) -> int:
    return self._num_base

  @property
  def bos_id(self) -> int:
    return self._special["<|begin_of_text|>"]

  @property
  def eos_id(self) -> int:
    return self._special["<|end_of_text|>"]

  @property
  def pad_id(self) -> int:
    # Meta's choice for Llama 3.1; it is not a stop token, unlike <|end_of_text|>.
    return self._special["<|finetune_right_pad_id|>"]

  @property
  def special_tokens(self) -> Mapping[str, int]:
    return self._special

  def encode_segment(self, text: str) -> list[int]:
    ids: list[int] = []
    for piece in _split_long_runs(text):
      # disallowed_special=() makes special names in the text plain text instead of an error.
      ids.extend(self._encoding.encode(piece, allowed_special=set(), disallowed_special=()))
    return ids

  def encode_with_specials(self, text: str, *, bos: bool = False) -> list[int]:
    # tiktoken's own special handling: an independent implementation of the same contract.
    ids = [self.bos_id] if bos else []
    for piece in _split_long_runs(text):
      ids.extend(self._encoding.encode(piece, allowed_special="all"))
    return ids

  def decode(self, ids: Sequence[int]) -> str:
    return self._encoding.decode(self._check_ids(ids), errors="replace")

  def decode_bytes(self, ids: Sequence[int]) -> bytes:
    """Exact bytes, for callers that stream partial UTF-8 sequences."""
    return self._encoding.decode_bytes(self._check_ids(ids))
