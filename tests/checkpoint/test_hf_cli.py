"""The convert_hf and export_hf command lines: HF -> orbax -> HF, loaded back by transformers."""

import subprocess
import sys

import numpy as np
import transformers

from hf_models import hf_logits, make_hf_llama
from selfchallenge_jax.checkpoint.export import load_params_on_host
from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.model import llama


def _run(*args):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


def test_convert_then_export_cli(tmp_path):
  hf = make_hf_llama("llama3.1", seed=5)
  hf.save_pretrained(tmp_path / "hf")
  r = _run("launch.convert_hf", f"--hf_dir={tmp_path / 'hf'}", f"--out={tmp_path / 'ckpt'}")
  assert r.returncode == 0, r.stderr[-2000:]
  config, params, metadata = load_params_on_host(tmp_path / "ckpt")
  _, direct = import_hf(tmp_path / "hf")
  assert metadata["source"] == str(tmp_path / "hf")
  for a, b in zip(np.asarray(params["layers"]["attn"]["q_proj"]), direct["layers"]["attn"]["q_proj"]):
    np.testing.assert_array_equal(a, b)
  r = _run("launch.export_hf", f"--checkpoint={tmp_path / 'ckpt'}", f"--out={tmp_path / 'out'}")
  assert r.returncode == 0, r.stderr[-2000:]
  loaded = transformers.LlamaForCausalLM.from_pretrained(tmp_path / "out").float().eval()
  tokens = np.arange(3, 19).reshape(2, 8)
  mask = np.ones_like(tokens)
  positions = np.broadcast_to(np.arange(8), (2, 8))
  ours = np.asarray(llama.forward(params, tokens, positions, mask.astype(bool), config))
  assert np.abs(ours - hf_logits(loaded, tokens, mask, positions)).max() <= 1e-4


def test_export_cli_errors(tmp_path):
  r = _run("launch.export_hf", f"--checkpoint={tmp_path / 'missing'}", f"--out={tmp_path / 'o'}")
  assert r.returncode != 0 and "does not exist" in r.stderr
  (tmp_path / "empty").mkdir()
  r = _run("launch.export_hf", f"--checkpoint={tmp_path / 'empty'}", f"--out={tmp_path / 'o'}")
  assert r.returncode != 0 and "no complete checkpoint" in r.stderr
