"""Trains the project's own SentencePiece tokenizer (Llama 2 settings + Llama 3 chat tokens).

Used by the CPU miniature (and tests) where no pretrained tokenizer can be downloaded: the Llama 3
header / end-of-turn tokens are user-defined symbols, so the Llama 3.1 chat format works with it.
"""

from __future__ import annotations

import io
from typing import Iterable

import sentencepiece as spm
from etils import epath

CHAT_SYMBOLS = ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<|eom_id|>", "<|python_tag|>")


def train_chat_sentencepiece(texts: Iterable[str], out_path: epath.PathLike, vocab_size: int,
                             seed_sentencepiece_size: int = 100_000) -> epath.Path:
  """Trains a BPE model on `texts` and writes it to out_path (a `tokenizer.model` file)."""
  texts = [t for t in texts if t.strip()]
  if not texts:
    raise ValueError("cannot train a tokenizer on an empty corpus")
  model = io.BytesIO()
  # Llama 2's settings: BPE, byte fallback (no unknown characters), digits split, no normalization.
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(texts), model_writer=model, vocab_size=vocab_size, model_type="bpe",
      byte_fallback=True, split_digits=True, normalization_rule_name="identity",
      remove_extra_whitespaces=False, add_dummy_prefix=True, character_coverage=1.0,
      user_defined_symbols=list(CHAT_SYMBOLS), minloglevel=2, num_threads=1,
      max_sentence_length=1 << 16, seed_sentencepiece_size=seed_sentencepiece_size,
      allow_whitespace_only_pieces=True,
      hard_vocab_limit=False)
  out = epath.Path(out_path)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_bytes(model.getvalue())
  return out
