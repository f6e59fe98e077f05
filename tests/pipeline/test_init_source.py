"""config.init: parsing, pkg:// files, and what a pretrained run may override."""

import os
import sys

import pytest

from selfchallenge_jax.io import package_files
from selfchallenge_jax.pipeline.init_source import parse_init, training_overrides


def test_parse_init_kinds(tmp_path):
  assert parse_init("scratch").kind == "scratch" and not parse_init("scratch").pretrained
  source = parse_init(f"hf:{tmp_path}")
  assert (source.kind, source.path, source.pretrained) == ("hf", str(tmp_path), True)
  assert parse_init("gguf:gs://bucket/m.gguf").path == "gs://bucket/m.gguf"
  for bad in ("", "hf:", "tokenizer:x", "pretrained", "gguf"):
    with pytest.raises(ValueError, match="expected 'scratch', 'hf:DIR' or 'gguf:FILE'"):
      parse_init(bad)


def test_pkg_paths_resolve_without_importing_the_package(tmp_path, monkeypatch):
  package = tmp_path / "fake_model_pkg"
  package.mkdir()
  (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
  (package / "weights.gguf").write_bytes(b"GGUF")
  monkeypatch.syspath_prepend(str(tmp_path))
  resolved = package_files.resolve("pkg://fake_model_pkg/weights.gguf")
  assert resolved == os.path.join(str(package), "weights.gguf")
  assert "fake_model_pkg" not in sys.modules
  assert parse_init("gguf:pkg://fake_model_pkg/weights.gguf").path == resolved
  with pytest.raises(FileNotFoundError, match="has no file 'missing.gguf'"):
    package_files.resolve("pkg://fake_model_pkg/missing.gguf")
  with pytest.raises(FileNotFoundError, match="is not installed"):
    package_files.resolve("pkg://no_such_package_xyz/m.gguf")
  with pytest.raises(FileNotFoundError, match="expected pkg://<package>/<file>"):
    package_files.resolve("pkg://only_a_name")
  assert package_files.resolve("/plain/path") == "/plain/path"


def test_pretrained_runs_take_the_architecture_from_the_checkpoint():
  source = parse_init("gguf:/m.gguf")
  assert training_overrides({"attention_query_block": 128, "frozen_layers": 4}, source) == {
      "attention_query_block": 128, "frozen_layers": 4}
  with pytest.raises(ValueError, match=r"sets \['d_model', 'num_layers'\]"):
    training_overrides({"preset": "tiny", "d_model": 64, "num_layers": 2}, source)


def test_a_named_preset_must_match_the_pretrained_architecture_before_weights_load(tmp_path):
  import dataclasses

  from selfchallenge_jax.model.config import get_config
  from selfchallenge_jax.pipeline.init_source import check_architecture, load_pretrained
  from selfchallenge_jax.sharding.mesh import single_device_mesh
  source = parse_init("hf:/models/Llama-3.1-8B-Instruct")
  llama = get_config("llama3.1-8b")
  check_architecture(dataclasses.replace(llama, eos_id=1, max_seq_len=1024), "llama3.1-8b", source)
  with pytest.raises(ValueError, match=r"is not the 'llama3.1-8b' preset .*num_layers 16 != 32"):
    check_architecture(dataclasses.replace(llama, num_layers=16), "llama3.1-8b", source)
  # Through the import: refused before a weight is read, and no tokenizer file is written.
  from hf_models import make_hf_llama
  make_hf_llama("llama2").save_pretrained(tmp_path / "hf", safe_serialization=True)
  (tmp_path / "hf" / "model.safetensors").write_bytes(b"not read")
  out = tmp_path / "tokenizer"
  with pytest.raises(ValueError, match="is not the 'llama3.1-8b' preset"):
    load_pretrained(parse_init(f"hf:{tmp_path / 'hf'}"), single_device_mesh(), {}, out,
                    preset="llama3.1-8b")
  assert not out.exists()
