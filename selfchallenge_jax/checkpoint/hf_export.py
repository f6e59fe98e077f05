"""Export params to an HF Llama checkpoint: sharded safetensors + index json + config.json.

Works from host numpy arrays or sharded jax.Arrays, and to any epath destination (local or gs://).
Streamed: a host holds one safetensors file's tensors at most (each layer slice is gathered on its
own). Multi-process (params spanning hosts): every process takes part in each tensor's gather, the
files are written by processes in turn (file i by process i mod P), and process 0 writes the index
and config.json. No torch, no whole model on any host.
"""

from __future__ import annotations

import json
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from etils import epath
from safetensors.numpy import save as safetensors_bytes

from selfchallenge_jax.checkpoint import hf_config, hf_keys
from selfchallenge_jax.checkpoint.hf_import import INDEX_FILE, SINGLE_FILE
from selfchallenge_jax.model.config import LlamaConfig


def _leaf(params: dict, mapping: hf_keys.KeyMapping) -> Any:
  value = params
  for p in mapping.path:
    value = value[p]
  return value


def _hf_tensors(params: dict, config: LlamaConfig, dtype: np.dtype, keys: set[str]):
  """(key, HF tensor) for the HF keys in `keys`, in key-map order, one tensor on host at a time."""
  for mapping in hf_keys.key_map(config):
    value = _leaf(params, mapping)
    for i, key in enumerate(hf_keys.hf_keys(mapping, config)):
      if key in keys:
        ours = on_host(value[i] if mapping.per_layer else value)
        yield key, np.ascontiguousarray(mapping.to_hf(ours, config).astype(dtype, copy=False))


def on_host(x: Any) -> np.ndarray:
  """A whole tensor on this host; an array spanning processes is gathered (all processes call)."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))
  return np.asarray(x)


def _plan_shards(params: dict, config: LlamaConfig, dtype: np.dtype,
                 max_shard_bytes: int) -> list[list[tuple[str, int]]]:
  """HF keys and byte sizes per shard, from shapes alone: a new shard starts when the next tensor
  would push a non-empty shard past max_shard_bytes."""
  shards: list[list[tuple[str, int]]] = [[]]
  size = 0
  for mapping in hf_keys.key_map(config):
    shape = np.shape(_leaf(params, mapping))
    nbytes = int(np.prod(shape[1:] if mapping.per_layer else shape)) * dtype.itemsize
    for key in hf_keys.hf_keys(mapping, config):
      if size and size + nbytes > max_shard_bytes:
        shards.append([])
        size = 0
      shards[-1].append((key, nbytes))
      size += nbytes
  return shards


def export_hf(params: dict, config: LlamaConfig, out_dir: epath.PathLike, *,
              dtype: str | None = None, max_shard_bytes: int = 2 << 30) -> list[str]:
  """Writes the checkpoint; returns the safetensors file names (of all processes).

  Shard names are known before any tensor is converted, so each file is written once under its
  final name (no renames: on gs:// a rename is a copy plus a delete).
  """
  out = epath.Path(out_dir)
  out.mkdir(parents=True, exist_ok=True)
  np_dtype = np.dtype(config.replace(param_dtype=dtype).params_dtype if dtype else config.params_dtype)

  plan = _plan_shards(params, config, np_dtype, max_shard_bytes)
  names = ([SINGLE_FILE] if len(plan) == 1 else
           [f"model-{i + 1:05d}-of-{len(plan):05d}.safetensors" for i in range(len(plan))])
  for index, (name, shard) in enumerate(zip(names, plan)):
    tensors = dict(_hf_tensors(params, config, np_dtype, {key for key, _ in shard}))
    if index % jax.process_count() == jax.process_index():
      (out / name).write_bytes(safetensors_bytes(tensors, metadata={"format": "pt"}))
    del tensors
  if jax.process_index() != 0:
    return names
  if len(plan) > 1:
    weight_map = {key: name for name, shard in zip(names, plan) for key, _ in shard}
    index = {"metadata": {"total_size": sum(n for shard in plan for _, n in shard)},
             "weight_map": dict(sorted(weight_map.items()))}
    (out / INDEX_FILE).write_text(json.dumps(index, indent=2))
  hf_cfg = hf_config.to_hf_config(config)
  hf_cfg["dtype"] = str(np_dtype) if str(np_dtype) != "bfloat16" else "bfloat16"
  (out / "config.json").write_text(json.dumps(hf_cfg, indent=2))
  return names
