"""Remote HF checkpoints are read tensor by tensor through byte ranges
(hf_import._RangedSafetensors), not staged whole on local disk: here on local files taken for
remote ones, against safe_open."""

import jax
import numpy as np
import torch

from hf_models import make_hf_llama
from selfchallenge_jax.checkpoint import hf_import


def test_ranged_reads_equal_safe_open_and_open_each_file_once(tmp_path, monkeypatch):
  # bf16 as Llama 3.1 ships, in several files so that each stacked leaf spans them.
  make_hf_llama("llama3.1", seed=3, num_hidden_layers=4).to(torch.bfloat16).save_pretrained(
      tmp_path, max_shard_size="100KB")
  files = sorted(p.name for p in tmp_path.glob("*.safetensors"))
  assert len(files) > 2
  config, expected = hf_import.import_hf(tmp_path, param_dtype="bfloat16")

  opened = []
  ranged = hf_import._RangedSafetensors

  def counting(path):
    opened.append(path.name)
    return ranged(path)
  monkeypatch.setattr(hf_import, "is_remote", lambda path: True)
  monkeypatch.setattr(hf_import, "_RangedSafetensors", counting)
  config2, params = hf_import.import_hf(tmp_path, param_dtype="bfloat16")
  assert config2 == config
  assert sorted(opened) == files
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(expected)):
    assert a.dtype == b.dtype == np.dtype(config.params_dtype)
    np.testing.assert_array_equal(a, b)
