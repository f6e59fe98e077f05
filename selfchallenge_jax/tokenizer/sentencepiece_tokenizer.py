"""SentencePiece tokenizer (Llama 2 `tokenizer.model`, and our tiny project-trained models).

Special tokens are the model's control pieces (<s>, </s>), its <unk> piece, and its user-defined
symbols. A tiny CPU model may define Llama 3 chat tokens (<|start_header_id|>, <|eot_id|>, ...) as
user-defined symbols so that the Llama 3.1 chat format works with it.

SentencePiece itself would turn the text "<|eot_id|>" into the user-defined symbol whenever it occurs,
which would let any model output or tool result forge a turn boundary. So the loaded model proto is
rewritten: user-defined symbols become control symbols, which SentencePiece never produces from text
(ids are unchanged). We emit them only on purpose, by id.

Two processors are built from the same proto: one with the model's dummy prefix (a standalone text
starts with a word boundary, as Llama 2's reference encoder does) and one without it, for text that
continues after a special token or after earlier text.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import sentencepiece as spm

from selfchallenge_jax.tokenizer.base import Tokenizer

try:  # The proto module needs `protobuf`; it ships with sentencepiece but protobuf may not.
  from sentencepiece import sentencepiece_model_pb2 as _model_pb2
except ImportError as e:  # pragma: no cover - environment problem, reported when first used
  _model_pb2 = None
  _PROTO_IMPORT_ERROR: ImportError | None = e
else:
  _PROTO_IMPORT_ERROR = None

_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED = 1, 2, 3, 4


def parse_model_proto(data: bytes, source: str = "<bytes>"):
  """Parses a serialized SentencePiece ModelProto; ValueError if `data` is not one."""
  if _model_pb2 is None:
    raise ImportError(
        f"reading SentencePiece models needs the `protobuf` package ({_PROTO_IMPORT_ERROR})")
  proto = _model_pb2.ModelProto()
  try:
    proto.ParseFromString(data)
  except Exception as e:  # protobuf raises DecodeError, a bare Exception subclass
    raise ValueError(f"{source}: not a SentencePiece model ({e})") from None
  if not proto.pieces:
    raise ValueError(f"{source}: not a SentencePiece model (no vocabulary pieces)")
  return proto


class SentencePieceTokenizer(Tokenizer):
  """A SentencePiece model whose special pieces are emitted only by id."""

  def __init__(self, proto, source: str = "<bytes>") -> None:
    self._source = source
    self._special: dict[str, int] = {}
    for index, piece in enumerate(proto.pieces):
      if piece.type in (_UNKNOWN, _CONTROL, _USER_DEFINED):
        self._special[piece.piece] = index
      if piece.type == _USER_DEFINED:
        piece.type = _CONTROL
    self._dummy_prefix = proto.normalizer_spec.add_dummy_prefix
    self._standalone = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    proto.normalizer_spec.add_dummy_prefix = False
    proto.denormalizer_spec.add_dummy_prefix = False
    self._continuation = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    self._vocab_size = self._standalone.get_piece_size()
    self._bos = self._standalone.bos_id()
    self._eos = self._standalone.eos_id()
    self._unk = self._standalone.unk_id()
    pad = self._standalone.pad_id()
    # Llama 2 defines no pad piece (pad_id() == -1); <unk> is a valid id that is never a stop token.
    self._pad = pad if pad >= 0 else self._special.get("<|finetune_right_pad_id|>", self._unk)
    if self._bos < 0 and "<|begin_of_text|>" in self._special:
      self._bos = self._special["<|begin_of_text|>"]
    if self._bos < 0 or self._eos < 0:
      raise ValueError(f"{source}: SentencePiece model defines no BOS/EOS pieces")

  @classmethod
  def from_bytes(cls, data: bytes, source: str = "<bytes>") -> "SentencePieceTokenizer":
    return cls(parse_model_proto(data, source), source)

  @property
  def vocab_size(self) -> int:
    return self._vocab_size

  @property
  def bos_id(self) -> int:
    return self._bos

  @property
  def eos_id(self) -> int:
    return self._eos

  @property
  def pad_id(self) -> int:
    return self._pad

  @property
  def special_tokens(self) -> Mapping[str, int]:
    return self._special

  def _encode_standalone(self, text: str) -> list[int]:
    return list(self._standalone.encode(text))

  def encode_segment(self, text: str) -> list[int]:
    return list(self._continuation.encode(text))

  def id_to_piece(self, token_id: int) -> str:
    return self._standalone.id_to_piece(int(token_id))

  def decode(self, ids: Sequence[int]) -> str:
    ids = self._check_ids(ids)
    specials = set(self._special.values())
    parts: list[str] = []
    run: list[int] = []
    run_start = 0

    def flush() -> None:
      if run:
        # Only text at the very start lost a dummy-prefix space when encoded; elsewhere a leading
        # "▁" is a real space (e.g. "<s> Hello" like HF's Llama 2 decode with special tokens).
        processor = self._standalone if run_start == 0 else self._continuation
        parts.append(processor.decode(run))
        run.clear()

    for position, token in enumerate(ids):
      if token in specials:
        flush()
        parts.append(self._standalone.id_to_piece(token))
      else:
        if not run:
          run_start = position
        run.append(token)
    flush()
    return "".join(parts)
