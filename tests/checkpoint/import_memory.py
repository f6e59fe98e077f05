"""Pretrained imports measured for host and device memory (test helper for test_import_memory.py).

Run as a script it is one host of that test's two-host import: `import_memory.py HF_DIR GGUF OUT`
under launch/local_multihost's environment imports both files onto the global 8-device fsdp
mesh, checks that its devices' shards equal the numpy import and writes its figures to
OUT/process_<i>.json.
"""

import contextlib
import json
import os
import sys
import tracemalloc

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(_TESTS), _TESTS]      # repo root, shared fixtures (as a script)

import jax  # noqa: E402
import numpy as np  # noqa: E402

from gguf_files import all_f32, tiny_params, write_gguf  # noqa: E402
from hf_models import make_hf_llama  # noqa: E402
from selfchallenge_jax.checkpoint.gguf_import import import_gguf  # noqa: E402
from selfchallenge_jax.checkpoint.hf_import import import_hf  # noqa: E402
from selfchallenge_jax.model.config import LlamaConfig  # noqa: E402
from selfchallenge_jax.model.partitioning import param_shardings  # noqa: E402
from selfchallenge_jax.sharding import make_mesh  # noqa: E402

# 14.2M float32 params (56.9 MB). mlp_dim = 3.5 x d_model makes each of the three stacked MLP
# leaves 25.8% of the model, the largest leaves; 16 layers make one layer's tensor 1/16 of its
# leaf (1.6% of the model); vocab 128 keeps the embeddings and the GGUF's metadata (~1 MB of
# numpy views in gguf.GGUFReader, held during the import) small.
CONFIG = LlamaConfig(vocab_size=128, d_model=256, num_layers=16, num_heads=4, num_kv_heads=2,
                     mlp_dim=896, max_seq_len=256, bos_id=1, eos_id=2)
IMPORTERS = {"hf": import_hf, "gguf": import_gguf}


def write_hf(path) -> None:
  """CONFIG's architecture as transformers writes it, in four safetensors files of <= 16 MB: each
  stacked leaf is then read from several files."""
  model = make_hf_llama("llama3.1", vocab_size=CONFIG.vocab_size, hidden_size=CONFIG.d_model,
                        intermediate_size=CONFIG.mlp_dim, num_hidden_layers=CONFIG.num_layers,
                        num_attention_heads=CONFIG.num_heads,
                        num_key_value_heads=CONFIG.num_kv_heads)
  model.save_pretrained(path, max_shard_size="16MB")


def write_gguf_file(path) -> None:
  write_gguf(str(path), CONFIG, tiny_params(CONFIG), types=all_f32)


def write_files(directory) -> dict[str, str]:
  """{importer name: the file or directory it reads} under `directory`."""
  paths = {"hf": os.path.join(directory, "hf"), "gguf": os.path.join(directory, "model.gguf")}
  write_hf(paths["hf"])
  write_gguf_file(paths["gguf"])
  return paths


@contextlib.contextmanager
def transfers_copy():
  """jax.device_put copies host buffers onto the device, as on a TPU host.

  XLA:CPU instead adopts a 64-byte aligned numpy buffer as the device buffer (a CPU device's
  memory is host memory), so an importer's staging buffer would stay traced for the life of the
  array it became, at random (by the allocator's alignment), and the host peak would measure luck.
  Here the adopted buffer is copied once more on the device and then dropped, so what stays traced
  is what the importer holds, as on a TPU host.
  """
  put = jax.device_put

  def device_put(x, device=None, **kwargs):
    adopted = put(x, device, **kwargs)
    copied = put(adopted, may_alias=False).block_until_ready()
    adopted.delete()          # now, not whenever the runtime drops it: the peak is deterministic
    return copied
  jax.device_put = device_put
  try:
    yield
  finally:
    jax.device_put = put


def traced_import(kind: str, path, mesh) -> tuple[LlamaConfig, dict, int]:
  """(config, params placed on `mesh`'s param shardings, the peak of host memory tracemalloc saw
  during the import above what was allocated before it). numpy registers its buffers with
  tracemalloc, so the peak counts every numpy array the importer held at once."""
  with transfers_copy():
    tracemalloc.start()
    try:
      before = tracemalloc.get_traced_memory()[0]
      tracemalloc.reset_peak()
      config, params = IMPORTERS[kind](path, shardings=lambda c: param_shardings(c, mesh))
      peak = tracemalloc.get_traced_memory()[1] - before
    finally:
      tracemalloc.stop()
  return config, params, peak


def per_device_bytes(params) -> dict:
  """Bytes of params each of this process's devices holds."""
  out: dict = {}
  for x in jax.tree.leaves(params):
    for shard in x.addressable_shards:
      out[shard.device] = out.get(shard.device, 0) + shard.data.nbytes
  return out


def assert_shards_equal(params, host_params) -> None:
  """Every shard this process holds equals its slice of the numpy import, leaf by leaf."""
  paths, leaves = zip(*jax.tree_util.tree_leaves_with_path(params))
  for path, leaf, host in zip(paths, leaves, jax.tree.leaves(host_params)):
    assert leaf.shape == host.shape and leaf.dtype == host.dtype, path
    for shard in leaf.addressable_shards:
      np.testing.assert_array_equal(np.asarray(shard.data), host[shard.index],
                                    err_msg=jax.tree_util.keystr(path))


def figures(kind: str, path, mesh) -> dict:
  """The import of `path` onto `mesh`, checked against the numpy import; its memory figures."""
  _, params, peak = traced_import(kind, path, mesh)
  _, host = IMPORTERS[kind](path)
  assert_shards_equal(params, host)
  return {"peak": peak, "total": sum(x.nbytes for x in jax.tree.leaves(host)),
          "max_leaf": max(x.nbytes for x in jax.tree.leaves(host)),
          "device_bytes": sorted(per_device_bytes(params).values())}


def main(hf_dir: str, gguf_path: str, out: str) -> None:
  from selfchallenge_jax import distributed
  distributed.initialize()
  mesh = make_mesh((1, 8, 1))
  report = {kind: figures(kind, path, mesh)
            for kind, path in (("hf", hf_dir), ("gguf", gguf_path))}
  report["addressable_devices"] = len(mesh.local_devices)
  with open(os.path.join(out, f"process_{jax.process_index()}.json"), "w") as f:
    json.dump(report, f)


if __name__ == "__main__":
  main(*sys.argv[1:])
