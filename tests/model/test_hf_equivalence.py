"""The JAX forward equals transformers' LlamaForCausalLM, and HF import/export round-trips."""

import json

import jax
import numpy as np
import pytest
import transformers

from hf_models import STYLES, hf_logits, make_hf_llama
from selfchallenge_jax.checkpoint.hf_export import export_hf
from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.model import llama


def _batch(vocab, padding, seed=0):
  """A batch of 3 sequences with lengths 12, 7, 3 padded to 12 on the given side."""
  rng = np.random.default_rng(seed)
  T, lengths = 12, [12, 7, 3]
  tokens = np.zeros((3, T), np.int64)
  mask = np.zeros((3, T), np.int64)
  for b, n in enumerate(lengths):
    seq = rng.integers(3, vocab, n)
    if padding == "left":
      tokens[b, T - n:], mask[b, T - n:] = seq, 1
    else:
      tokens[b, :n], mask[b, :n] = seq, 1
  positions = np.clip(np.cumsum(mask, axis=1) - 1, 0, None)
  return tokens, mask, positions


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("padding", ["left", "right"])
@pytest.mark.parametrize("query_block", [0, 5])     # 5: blocks of 5, 5 and 2 of the 12 tokens
def test_logits_match_transformers(tmp_path, style, padding, query_block):
  hf = make_hf_llama(style)
  hf.save_pretrained(tmp_path)
  config, params = import_hf(tmp_path)
  config = config.replace(attention_query_block=query_block)
  tokens, mask, positions = _batch(config.vocab_size, padding)
  ours = np.asarray(llama.forward(params, tokens, positions, mask.astype(bool), config))
  ref = hf_logits(hf, tokens, mask, positions)
  valid = mask.astype(bool)
  assert np.abs(ours[valid] - ref[valid]).max() <= 1e-4
  assert config.tie_embeddings == (style == "llama3.2")
  assert (config.rope_scaling is not None) == (style != "llama2")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_export_loads_in_transformers_and_round_trips(tmp_path, style):
  hf = make_hf_llama(style, seed=1)
  hf.save_pretrained(tmp_path / "src")
  config, params = import_hf(tmp_path / "src")
  export_hf(params, config, tmp_path / "out")
  loaded = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "out").float().eval()
  tokens, mask, positions = _batch(config.vocab_size, "right", seed=2)
  ours = np.asarray(llama.forward(params, tokens, positions, mask.astype(bool), config))
  ref = hf_logits(loaded, tokens, mask, positions)
  valid = mask.astype(bool)
  assert np.abs(ours[valid] - ref[valid]).max() <= 1e-4
  # import(export(params)) == params exactly.
  config2, params2 = import_hf(tmp_path / "out")
  assert config2 == config
  jax.tree.map(np.testing.assert_array_equal, params2, params)


def test_sharded_export_writes_index_and_round_trips(tmp_path):
  hf = make_hf_llama("llama3.1", seed=3)
  hf.save_pretrained(tmp_path / "src")
  config, params = import_hf(tmp_path / "src")
  names = export_hf(params, config, tmp_path / "out", max_shard_bytes=64 * 1024)
  assert len(names) > 1
  index = json.loads((tmp_path / "out" / "model.safetensors.index.json").read_text())
  assert set(index["weight_map"].values()) == set(names)
  _, params2 = import_hf(tmp_path / "out")
  jax.tree.map(np.testing.assert_array_equal, params2, params)
  loaded = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "out")
  assert loaded.config.num_key_value_heads == 2


def test_bf16_export_import(tmp_path):
  hf = make_hf_llama("llama2", seed=4)
  hf.save_pretrained(tmp_path / "src")
  config, params = import_hf(tmp_path / "src", param_dtype="bfloat16")
  assert params["embed"]["embedding"].dtype == np.dtype(config.params_dtype)
  export_hf(params, config, tmp_path / "out")
  config2, params2 = import_hf(tmp_path / "out")
  assert config2.param_dtype == "bfloat16"
  jax.tree.map(np.testing.assert_array_equal, params2, params)


def _rewrite(src, dst, drop=None, reshape=None):
  """Copies an HF dir, dropping one tensor or replacing one with a wrongly shaped one."""
  from safetensors.numpy import load_file, save_file
  import shutil
  shutil.copytree(src, dst)
  tensors = load_file(str(dst / "model.safetensors"))
  if drop:
    del tensors[drop]
  if reshape:
    tensors[reshape] = tensors[reshape][:-1]
  save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})


def test_bad_hf_dirs_give_clear_errors(tmp_path):
  make_hf_llama("llama3.1").save_pretrained(tmp_path / "good")
  key = "model.layers.1.self_attn.k_proj.weight"
  _rewrite(tmp_path / "good", tmp_path / "missing", drop=key)
  with pytest.raises(KeyError, match="missing tensor 'model.layers.1.self_attn.k_proj.weight'"):
    import_hf(tmp_path / "missing")
  _rewrite(tmp_path / "good", tmp_path / "shape", reshape=key)
  with pytest.raises(ValueError, match=r"k_proj.weight' has shape \(31, 64\), expected \(32, 64\)"):
    import_hf(tmp_path / "shape")
  import shutil
  shutil.copytree(tmp_path / "good", tmp_path / "mistral")
  cfg = json.loads((tmp_path / "mistral" / "config.json").read_text())
  cfg.update(model_type="mistral", architectures=["MistralForCausalLM"])
  (tmp_path / "mistral" / "config.json").write_text(json.dumps(cfg))
  with pytest.raises(ValueError, match="not a Llama checkpoint: model_type='mistral'"):
    import_hf(tmp_path / "mistral")
  with pytest.raises(FileNotFoundError, match="does not exist"):
    import_hf(tmp_path / "nowhere")
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="config.json"):
    import_hf(tmp_path / "empty")
