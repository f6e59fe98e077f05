"""The `Tokenizer` interface shared by the SentencePiece and the Llama 3 (tiktoken) tokenizers.

Two ways of turning text into ids, on purpose:

* `encode(text)` treats `text` as untrusted plain text: a string such as "<|eot_id|>" inside it is
  encoded as ordinary characters, never as the special token. Model outputs, tool results and user
  messages go through this path, so none of them can forge a turn boundary (prompt injection).
* `encode_with_specials(text)` parses special-token names as special tokens. Only trusted template
  text (and tests that cross-check the chat renderer) may use it.

The chat renderers never call `encode_with_specials`: they emit special ids directly and encode the
text between them with `encode_segment`, which continues a token stream instead of starting one
(SentencePiece would otherwise add its dummy-prefix space after every special token).
"""

from __future__ import annotations

import abc
import difflib
import re
from typing import Mapping, Sequence


class Tokenizer(abc.ABC):
  """Text <-> token ids. Subclasses define the vocabulary and the plain-text codec."""

  # ---- to implement -------------------------------------------------------------------------
  @property
  @abc.abstractmethod
  def vocab_size(self) -> int:
    """Number of ids, special tokens included (the model's embedding rows must cover it)."""

  @property
  @abc.abstractmethod
  def bos_id(self) -> int:
    """Beginning-of-sequence id."""

  @property
  @abc.abstractmethod
  def eos_id(self) -> int:
    """End-of-sequence (end of text) id."""

  @property
  @abc.abstractmethod
  def pad_id(self) -> int:
    """A valid id to pad with. Padded positions are masked out; it is never a stop token."""

  @property
  @abc.abstractmethod
  def special_tokens(self) -> Mapping[str, int]:
    """Special-token name (e.g. "<|eot_id|>") -> id. These ids are never produced by `encode`."""

  @abc.abstractmethod
  def encode_segment(self, text: str) -> list[int]:
    """Plain text that continues a token stream (e.g. right after a special token).

    Specials in `text` are not parsed. For SentencePiece no dummy-prefix space is added.
    """

  @abc.abstractmethod
  def decode(self, ids: Sequence[int]) -> str:
    """Ids -> text. Special tokens are rendered as their names."""

  # ---- shared -------------------------------------------------------------------------------
  def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
    """Plain text as a standalone sequence. Special-token names in `text` are NOT parsed."""
    ids = self._encode_standalone(text)
    if bos:
      ids.insert(0, self.bos_id)
    if eos:
      ids.append(self.eos_id)
    return ids

  def _encode_standalone(self, text: str) -> list[int]:
    """Start-of-sequence encoding; SentencePiece overrides it to add its dummy prefix."""
    return self.encode_segment(text)

  def encode_with_specials(self, text: str, *, bos: bool = False) -> list[int]:
    """Trusted text whose special-token names become special ids (never use on model/user text).

    Text is cut at every special-token name; the text before the first special is encoded as a
    standalone sequence and every later piece as a continuation, so the result equals what the chat
    renderers build piece by piece.
    """
    ids = [self.bos_id] if bos else []
    position = 0
    for match in self._special_pattern().finditer(text):
      if match.start() > position:
        piece = text[position:match.start()]
        ids.extend(self._encode_standalone(piece) if position == 0 else self.encode_segment(piece))
      ids.append(self.special_tokens[match.group(0)])
      position = match.end()
    if position < len(text):
      piece = text[position:]
      ids.extend(self._encode_standalone(piece) if position == 0 else self.encode_segment(piece))
    return ids

  def token_id(self, name: str) -> int:
    """Id of a special token, e.g. token_id("<|eot_id|>"); KeyError naming close matches if unknown."""
    try:
      return self.special_tokens[name]
    except KeyError:
      close = difflib.get_close_matches(name, list(self.special_tokens), n=3)
      hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
      raise KeyError(
          f"{type(self).__name__} has no special token {name!r}.{hint} "
          f"It defines {len(self.special_tokens)} special tokens "
          f"(e.g. {', '.join(repr(n) for n in list(self.special_tokens)[:6])})."
      ) from None

  def has_token(self, name: str) -> bool:
    """Whether `name` is a special token of this vocabulary."""
    return name in self.special_tokens

  def _special_pattern(self) -> re.Pattern[str]:
    pattern = getattr(self, "_special_regex", None)
    if pattern is None:
      # Longest names first so that a name that prefixes another one never wins.
      names = sorted(self.special_tokens, key=len, reverse=True)
      pattern = re.compile("|".join(re.escape(n) for n in names)) if names else re.compile(r"(?!)")
      self._special_regex = pattern
    return pattern

  def _check_ids(self, ids: Sequence[int]) -> list[int]:
    ids = [int(i) for i in ids]
    bad = [i for i in ids if not 0 <= i < self.vocab_size]
    if bad:
      raise ValueError(f"token ids out of range [0, {self.vocab_size}): {bad[:5]}")
    return ids
