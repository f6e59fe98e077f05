"""load_tokenizer: format detection from contents, clear errors for bad input."""

from __future__ import annotations

import pytest

from selfchallenge_jax.tokenizer import SentencePieceTokenizer, TiktokenTokenizer, load_tokenizer


def test_detects_both_formats_by_content_not_name(sp_chat_model_path, tiktoken_model_path):
  # Both files are called tokenizer.model, as in the Llama 2 and Llama 3 releases.
  assert sp_chat_model_path.name == tiktoken_model_path.name == "tokenizer.model"
  assert isinstance(load_tokenizer(sp_chat_model_path), SentencePieceTokenizer)
  assert isinstance(load_tokenizer(tiktoken_model_path), TiktokenTokenizer)
  assert isinstance(load_tokenizer(str(tiktoken_model_path.parent)), TiktokenTokenizer)  # a directory


def test_missing_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="tokenizer file not found: .*nope.model"):
    load_tokenizer(tmp_path / "nope.model")
  with pytest.raises(FileNotFoundError, match="tokenizer.model"):
    load_tokenizer(tmp_path)  # a directory without tokenizer.model


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x00\x01garbage\xff" * 10, "unrecognized tokenizer file"),
    (b"hello world, this is prose\n", "unrecognized tokenizer file"),
    (b'{"model": {"type": "BPE"}}', "tokenizer.json"),
    (b"QQ== 0\nQg== 1\nthis line is broken\n", "line 3"),
    (b"\x0a\x05\x0a\x03abc\xff\xff\xff", "not a SentencePiece model"),
])
def test_bad_files(tmp_path, content, message):
  path = tmp_path / "tokenizer.model"
  path.write_bytes(content)
  with pytest.raises(ValueError, match=message):
    load_tokenizer(path)


def test_truncated_sentencepiece_model(tmp_path, sp_chat_model_path):
  path = tmp_path / "tokenizer.model"
  path.write_bytes(sp_chat_model_path.read_bytes()[:1000])
  with pytest.raises(ValueError, match="not a SentencePiece model"):
    load_tokenizer(path)
