"""Import an HF Llama checkpoint (config.json + safetensors, single or sharded) into params.

Tensors are read one at a time and written into preallocated stacked arrays, so host memory holds
one copy of the params plus one HF tensor (an 8B import never holds two copies). With `shardings`
each finished leaf is then placed on its sharding and its host copy dropped before the next.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator

import jax
import numpy as np
from absl import logging
from etils import epath
from safetensors import safe_open

from selfchallenge_jax.checkpoint import hf_config, hf_keys
from selfchallenge_jax.io.local_copies import local_file
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import param_shapes

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"


def _weight_map(hf_dir: epath.Path) -> dict[str, str]:
  """HF key -> safetensors file name, from the index json or the files themselves."""
  index = hf_dir / INDEX_FILE
  if index.exists():
    try:
      return dict(json.loads(index.read_text())["weight_map"])
    except (json.JSONDecodeError, KeyError) as e:
      raise ValueError(f"{index} is not a valid safetensors index (needs 'weight_map'): {e}") from e
  files = sorted(p.name for p in hf_dir.glob("*.safetensors"))
  if not files:
    raise FileNotFoundError(f"no *.safetensors files (and no {INDEX_FILE}) in {hf_dir}")
  weight_map = {}
  for name in files:
    with _open(hf_dir / name) as f:
      weight_map.update({k: name for k in f.keys()})
  return weight_map


@contextlib.contextmanager
def _open(path: epath.Path) -> Iterator[Any]:
  """safe_open on a local file; remote files (gs://) are staged to a local temp file first."""
  if not path.exists():
    raise FileNotFoundError(f"safetensors file {path} is listed but does not exist")
  with local_file(path) as local, safe_open(local, framework="numpy") as f:
    yield f


def _expected_hf_shape(mapping: hf_keys.KeyMapping, ours: tuple[int, ...],
                       config: LlamaConfig) -> tuple[int, ...]:
  layer_shape = ours[1:] if mapping.per_layer else ours
  return mapping.to_hf(np.empty(layer_shape, np.uint8), config).shape


def place_leaves(params: dict, shardings: Any) -> dict:
  """Host (numpy) params -> jax.Arrays on `shardings`, one leaf at a time, each host copy dropped
  as soon as its leaf is placed (each host keeps only its addressable shards)."""
  def place(tree, shards):
    out = {}
    for name in list(tree):
      if isinstance(tree[name], dict):
        out[name] = place(tree[name], shards[name])
      else:
        host = tree.pop(name)
        out[name] = jax.make_array_from_callback(host.shape, shards[name],
                                                 lambda index, host=host: host[index])
        del host
    return out
  return place(params, shardings)


def import_hf(hf_dir: epath.PathLike, *, shardings: Any = None,
              **config_overrides: Any) -> tuple[LlamaConfig, dict]:
  """Returns (config, params in config.param_dtype): numpy arrays, or with `shardings` (a pytree
  like partitioning.param_shardings(config, mesh), or a function of the config returning one)
  jax.Arrays placed on them."""
  hf_dir = epath.Path(hf_dir)
  if not hf_dir.exists():
    raise FileNotFoundError(f"HF checkpoint directory {hf_dir} does not exist")
  config = hf_config.from_hf_config(hf_config.read_hf_config(hf_dir), **config_overrides)
  weight_map = _weight_map(hf_dir)
  shapes = param_shapes(config)
  dtype = np.dtype(config.params_dtype)

  plan: dict[str, list[tuple[str, hf_keys.KeyMapping, int | None]]] = {}
  for mapping in hf_keys.key_map(config):
    for i, key in enumerate(hf_keys.hf_keys(mapping, config)):
      if key not in weight_map:
        raise KeyError(f"HF checkpoint {hf_dir} is missing tensor {key!r}")
      plan.setdefault(weight_map[key], []).append((key, mapping, i if mapping.per_layer else None))
  known = {k for entries in plan.values() for k, _, _ in entries}
  ignored = sorted(set(weight_map) - known)
  if ignored:
    logging.info("HF import ignores %d tensors not used by the model, e.g. %s", len(ignored),
                 ignored[:3])

  params: dict[str, Any] = {}
  for file_name, entries in sorted(plan.items()):
    with _open(hf_dir / file_name) as f:
      for key, mapping, layer in entries:
        node = shapes
        for p in mapping.path:
          node = node[p]
        ours_shape = node[0]
        tensor = f.get_tensor(key)
        expected = _expected_hf_shape(mapping, ours_shape, config)
        if tuple(tensor.shape) != tuple(expected):
          raise ValueError(f"HF tensor {key!r} has shape {tuple(tensor.shape)}, expected {expected} "
                           f"for this config")
        value = mapping.to_ours(tensor, config).astype(dtype, copy=False)
        target = params
        for p in mapping.path[:-1]:
          target = target.setdefault(p, {})
        if mapping.path[-1] not in target:
          target[mapping.path[-1]] = np.empty(ours_shape, dtype)
        if layer is None:
          target[mapping.path[-1]][...] = value
        else:
          target[mapping.path[-1]][layer] = value
        del tensor, value
  if shardings is not None:
    params = place_leaves(params, shardings(config) if callable(shardings) else shardings)
  return config, params
