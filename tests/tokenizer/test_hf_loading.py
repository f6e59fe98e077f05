"""load_tokenizer on HF tokenizer.json files, directories and GGUF files; clear errors for bad input."""

from __future__ import annotations

import json
import shutil

import pytest
from byte_bpe_files import train_byte_bpe, write_gguf
from tokenizers import Tokenizer, models, pre_tokenizers

from selfchallenge_jax.tokenizer import HFTokenizer, SentencePieceTokenizer, load_tokenizer


def test_tokenizer_json_file_and_directory(byte_bpe_dir, tmp_path):
  by_file = load_tokenizer(f"{byte_bpe_dir}/tokenizer.json")
  by_dir = load_tokenizer(byte_bpe_dir)
  assert isinstance(by_file, HFTokenizer) and isinstance(by_dir, HFTokenizer)
  assert by_file.encode("hello world") == by_dir.encode("hello world")
  assert by_dir.chat_template is not None


def test_directory_prefers_tokenizer_json(byte_bpe_dir, sp_chat_model_path, tmp_path):
  shutil.copytree(byte_bpe_dir, tmp_path / "both")
  shutil.copy(sp_chat_model_path, tmp_path / "both" / "tokenizer.model")
  assert isinstance(load_tokenizer(tmp_path / "both"), HFTokenizer)
  (tmp_path / "both" / "tokenizer.json").unlink()
  assert isinstance(load_tokenizer(tmp_path / "both"), SentencePieceTokenizer)


def test_gguf_file(tiny_gguf_path):
  tok = load_tokenizer(tiny_gguf_path)
  assert isinstance(tok, HFTokenizer)
  assert tok.chat_template.startswith("{% for message in messages %}")


def test_missing_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="tokenizer file not found: .*nope.gguf"):
    load_tokenizer(tmp_path / "nope.gguf")
  with pytest.raises(FileNotFoundError, match="tokenizer file not found: .*tokenizer.json"):
    load_tokenizer(tmp_path / "tokenizer.json")
  with pytest.raises(FileNotFoundError, match="neither tokenizer.json nor tokenizer.model"):
    load_tokenizer(tmp_path)
  with pytest.raises(FileNotFoundError, match="tokenizer file not found"):
    HFTokenizer.from_gguf(tmp_path / "nope.gguf")


@pytest.mark.parametrize("content", [
    b'{"not": "a tokenizer"}',
    b'{"version": "1.0", "model": {"type": "BPE"}}',
    b'{"truncated": ',
])
def test_json_that_is_not_a_tokenizer(tmp_path, content):
  path = tmp_path / "tokenizer.json"
  path.write_bytes(content)
  with pytest.raises(ValueError, match="not an HF tokenizer.json"):
    load_tokenizer(path)


def test_broken_tokenizer_config(byte_bpe_dir, tmp_path):
  shutil.copytree(byte_bpe_dir, tmp_path / "t")
  (tmp_path / "t" / "tokenizer_config.json").write_text("{oops")
  with pytest.raises(ValueError, match="tokenizer_config.json: not valid JSON"):
    load_tokenizer(tmp_path / "t")


def test_config_naming_an_unknown_special_token(byte_bpe_dir, tmp_path):
  shutil.copytree(byte_bpe_dir, tmp_path / "t")
  config = json.loads((tmp_path / "t" / "tokenizer_config.json").read_text())
  config["bos_token"] = "<|no_such_token|>"
  (tmp_path / "t" / "tokenizer_config.json").write_text(json.dumps(config))
  with pytest.raises(ValueError, match=r"special token '<\|no_such_token\|>' is not in the vocab"):
    load_tokenizer(tmp_path / "t")


def test_without_config_bos_is_a_clear_error(byte_bpe_dir, tmp_path):
  shutil.copy(f"{byte_bpe_dir}/tokenizer.json", tmp_path / "tokenizer.json")
  tok = load_tokenizer(tmp_path)
  assert tok.chat_template is None
  assert tok.encode("hello") == load_tokenizer(byte_bpe_dir).encode("hello")
  with pytest.raises(ValueError, match="defines no bos_token"):
    tok.bos_id  # pylint: disable=pointless-statement


def test_prefix_space_tokenizers_are_refused(tmp_path):
  # SentencePiece-style tokenizer.json (Llama 2): a prefix space would follow every special token.
  tok = Tokenizer(models.BPE(vocab={"a": 0, "▁": 1, "<s>": 2}, merges=[]))
  tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
  tok.save(str(tmp_path / "tokenizer.json"))
  with pytest.raises(ValueError, match="adds a prefix space .*tokenizer.model"):
    load_tokenizer(tmp_path)


def test_bad_gguf_files(tmp_path):
  garbage = tmp_path / "garbage.gguf"
  garbage.write_bytes(b"not a gguf at all" * 10)
  with pytest.raises(ValueError, match="not a GGUF file"):
    load_tokenizer(garbage)
  truncated = tmp_path / "truncated.gguf"
  truncated.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 5)
  with pytest.raises(ValueError, match="not a readable GGUF file"):
    load_tokenizer(truncated)
  sentencepiece = write_gguf(tmp_path / "sp.gguf", train_byte_bpe(), model="llama")
  with pytest.raises(ValueError, match="tokenizer.ggml.model is 'llama'.*'gpt2'"):
    load_tokenizer(sentencepiece)
