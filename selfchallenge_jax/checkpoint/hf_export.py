"""Export params to an HF Llama checkpoint: sharded safetensors + index json + config.json.

Works from host numpy arrays or sharded jax.Arrays (each layer slice is gathered on its own), and
to any epath destination (local or gs://).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from etils import epath
from safetensors.numpy import save as safetensors_bytes

from selfchallenge_jax.checkpoint import hf_config, hf_keys
from selfchallenge_jax.checkpoint.hf_import import INDEX_FILE, SINGLE_FILE
from selfchallenge_jax.model.config import LlamaConfig


def _hf_tensors(params: dict, config: LlamaConfig, dtype: np.dtype):
  for mapping in hf_keys.key_map(config):
    value = params
    for p in mapping.path:
      value = value[p]
    for i, key in enumerate(hf_keys.hf_keys(mapping, config)):
      ours = np.asarray(value[i] if mapping.per_layer else value)
      yield key, np.ascontiguousarray(mapping.to_hf(ours, config).astype(dtype, copy=False))


def export_hf(params: dict, config: LlamaConfig, out_dir: epath.PathLike, *,
              dtype: str | None = None, max_shard_bytes: int = 2 << 30) -> list[str]:
  """Writes the checkpoint; returns the safetensors file names written."""
  out = epath.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  np_dtype = np.dtype(config.replace(param_dtype=dtype).params_dtype if dtype else config.params_dtype)

  shards: list[dict[str, np.ndarray]] = [{}]
  sizes = [0]
  weight_map: dict[str, int] = {}
  for key, tensor in _hf_tensors(params, config, np_dtype):
    if sizes[-1] and sizes[-1] + tensor.nbytes > max_shard_bytes:
      _write_shard(out, shards, sizes)
    shards[-1][key] = tensor
    sizes[-1] += tensor.nbytes
    weight_map[key] = len(sizes) - 1
  names_total = len(sizes)
  names = ([SINGLE_FILE] if names_total == 1 else
           [f"model-{i + 1:05d}-of-{names_total:05d}.safetensors" for i in range(names_total)])
  # Shards already written used provisional names; rename now that the total is known.
  for i in range(names_total - 1):
    (out / f".shard-{i}.tmp").rename(out / names[i])
  (out / names[-1]).write_bytes(safetensors_bytes(shards[-1], metadata={"format": "pt"}))
  if names_total > 1:
    index = {"metadata": {"total_size": int(sum(sizes))},
             "weight_map": {k: names[i] for k, i in sorted(weight_map.items())}}
    (out / INDEX_FILE).write_text(json.dumps(index, indent=2))
  hf_cfg = hf_config.to_hf_config(config)
  hf_cfg["dtype"] = str(np_dtype) if str(np_dtype) != "bfloat16" else "bfloat16"
  (out / "config.json").write_text(json.dumps(hf_cfg, indent=2))
  return names


def _write_shard(out: epath.Path, shards: list[dict[str, Any]], sizes: list[int]) -> None:
  index = len(shards) - 1
  (out / f".shard-{index}.tmp").write_bytes(safetensors_bytes(shards[-1], metadata={"format": "pt"}))
  shards[-1] = {}     # release the written tensors; keep the list aligned with `sizes`
  shards.append({})
  sizes.append(0)
