"""Import an HF Llama checkpoint (config.json + safetensors, single or sharded) into params.

Params are built one leaf at a time: each HF tensor of the leaf (one per layer for a stacked
[L, ...] leaf) is read once, put in our layout by hf_keys' `to_ours` and copied into the leaf's
buffers, and the leaf is finished before the next one starts. Without shardings a leaf's buffer is
the whole numpy array; with shardings it is this host's own shards of the leaf (`ShardedLeaf`),
put on their devices when the leaf is done. A host therefore holds at most one HF tensor being
converted plus its shards of one leaf, never the whole model (70B in bf16 is 140 GB).

Every safetensors file stays open for the whole import, since each leaf reads from all of them;
remote (gs://) files are read by byte range, tensor by tensor, not staged whole on local disk.
"""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any, Iterator

import jax
import ml_dtypes
import numpy as np
from absl import logging
from etils import epath
from safetensors import safe_open

from selfchallenge_jax.checkpoint import hf_config, hf_keys
from selfchallenge_jax.io.local_copies import is_remote
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import param_shapes

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
# safetensors dtype names -> numpy (the format stores little-endian values, as every TPU or GPU
# host's numpy reads them natively).
_SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
    "BOOL": np.bool_,
}


# ---- building a leaf ---------------------------------------------------------------------------

class HostLeaf:
  """A params leaf as one numpy array (the import without shardings: export and tests use it)."""

  def __init__(self, shape: tuple[int, ...], dtype: np.dtype):
    self._array = np.empty(shape, dtype)

  def set(self, layer: int | None, value: np.ndarray) -> None:
    """Writes layer `layer` of a stacked leaf, or the whole leaf when `layer` is None (numpy's
    assignment casts to the leaf's dtype, so no cast copy of `value` is made first)."""
    if layer is None:
      self._array[...] = value
    else:
      self._array[layer] = value

  def finish(self) -> np.ndarray:
    return self._array


class ShardedLeaf:
  """A params leaf written straight into this host's shards of it, then one global jax.Array.

  One buffer per distinct shard this host's devices hold (replicas share it), so the host holds
  only its own part of the leaf: on a pod a fraction of it, and never the other leaves. Each
  process fills its addressable devices' buffers from the full per-layer value it converted, and
  `make_array_from_single_device_arrays` assembles the global array from every process's shards.
  """

  def __init__(self, shape: tuple[int, ...], dtype: np.dtype, sharding: jax.sharding.Sharding):
    self._shape, self._sharding = shape, sharding
    self._buffers: dict[tuple, tuple[tuple[slice, ...], np.ndarray]] = {}
    self._device_buffer: dict[jax.Device, tuple] = {}
    for device, index in sharding.addressable_devices_indices_map(shape).items():
      key = tuple(s.indices(n) for s, n in zip(index, shape))
      if key not in self._buffers:
        self._buffers[key] = (index, np.empty([len(range(*k)) for k in key], dtype))
      self._device_buffer[device] = key

  def set(self, layer: int | None, value: np.ndarray) -> None:
    """As HostLeaf.set: each buffer takes its slice of `value` (the layers it holds, if any)."""
    for index, buffer in self._buffers.values():
      if layer is None:
        buffer[...] = value[index]
        continue
      layers = range(*index[0].indices(self._shape[0]))
      if layer in layers:
        buffer[layers.index(layer)] = value[index[1:]]

  def finish(self) -> jax.Array:
    arrays = [jax.device_put(self._buffers[key][1], device)
              for device, key in self._device_buffer.items()]
    self._buffers.clear()
    array = jax.make_array_from_single_device_arrays(self._shape, self._sharding, arrays)
    # The transfers hold the host buffers until they complete: wait, so that they are freed before
    # the next leaf's buffers are allocated.
    return array.block_until_ready()


def new_leaf(shape: tuple[int, ...], dtype: np.dtype,
             sharding: jax.sharding.Sharding | None) -> HostLeaf | ShardedLeaf:
  return HostLeaf(shape, dtype) if sharding is None else ShardedLeaf(shape, dtype, sharding)


def sharding_at(shardings: Any, mapping: hf_keys.KeyMapping) -> jax.sharding.Sharding:
  """The sharding of `mapping`'s params leaf in a params-shaped pytree of shardings."""
  node = shardings
  try:
    for p in mapping.path:
      node = node[p]
  except (KeyError, TypeError) as e:
    raise ValueError(f"shardings has no entry for params leaf {'/'.join(mapping.path)}: pass "
                     "partitioning.param_shardings(config, mesh) for the imported config") from e
  return node


def set_leaf(params: dict[str, Any], mapping: hf_keys.KeyMapping, leaf: Any) -> None:
  target = params
  for p in mapping.path[:-1]:
    target = target.setdefault(p, {})
  target[mapping.path[-1]] = leaf


# ---- reading safetensors files -----------------------------------------------------------------

class _RangedSafetensors:
  """safe_open's keys() / get_tensor() on a remote file, reading one tensor's bytes per call.

  The layout (safetensors' format): an 8-byte little-endian header length, a JSON header mapping
  each key to its dtype, shape and data_offsets (relative to the end of the header), the data.
  """

  def __init__(self, path: epath.Path):
    self._path = path
    self._file = path.open("rb")
    try:
      (length,) = struct.unpack("<Q", self._file.read(8))
      self._header = json.loads(self._file.read(length))
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as e:
      self._file.close()
      raise ValueError(f"{path} is not a safetensors file: {e}") from e
    self._header.pop("__metadata__", None)
    self._data_start = 8 + length

  def keys(self) -> list[str]:
    return list(self._header)

  def get_tensor(self, key: str) -> np.ndarray:
    entry = self._header[key]
    if entry["dtype"] not in _SAFETENSORS_DTYPES:
      raise ValueError(f"{self._path}: tensor {key!r} has dtype {entry['dtype']}, which this "
                       f"importer does not read (known: {', '.join(_SAFETENSORS_DTYPES)})")
    dtype = np.dtype(_SAFETENSORS_DTYPES[entry["dtype"]])
    begin, end = entry["data_offsets"]
    if end - begin != dtype.itemsize * int(np.prod(entry["shape"])):
      raise ValueError(f"{self._path}: tensor {key!r} has {end - begin} bytes for shape "
                       f"{entry['shape']} of {entry['dtype']}")
    self._file.seek(self._data_start + begin)
    data = self._file.read(end - begin)
    if len(data) != end - begin:
      raise ValueError(f"{self._path} is truncated: tensor {key!r} ends past the end of the file")
    return np.frombuffer(data, dtype).reshape(entry["shape"])

  def close(self) -> None:
    self._file.close()


class _Files:
  """The checkpoint's safetensors files, each opened on first use and kept open until close."""

  def __init__(self, hf_dir: epath.Path, stack: contextlib.ExitStack):
    self._dir, self._stack = hf_dir, stack
    self._open: dict[str, Any] = {}

  def get(self, name: str) -> Any:
    if name not in self._open:
      path = self._dir / name
      if not path.exists():
        raise FileNotFoundError(f"safetensors file {path} is listed but does not exist")
      if is_remote(path):
        reader = _RangedSafetensors(path)
        self._stack.callback(reader.close)
      else:
        reader = self._stack.enter_context(safe_open(str(path), framework="numpy"))
      self._open[name] = reader
    return self._open[name]


@contextlib.contextmanager
def _open_files(hf_dir: epath.Path) -> Iterator[_Files]:
  with contextlib.ExitStack() as stack:
    yield _Files(hf_dir, stack)


def _weight_map(hf_dir: epath.Path, files: _Files) -> dict[str, str]:
  """HF key -> safetensors file name, from the index json or the files themselves."""
  index = hf_dir / INDEX_FILE
  if index.exists():
    try:
      return dict(json.loads(index.read_text())["weight_map"])
    except (json.JSONDecodeError, KeyError) as e:
      raise ValueError(f"{index} is not a valid safetensors index (needs 'weight_map'): {e}") from e
  names = sorted(p.name for p in hf_dir.glob("*.safetensors"))
  if not names:
    raise FileNotFoundError(f"no *.safetensors files (and no {INDEX_FILE}) in {hf_dir}")
  return {key: name for name in names for key in files.get(name).keys()}


# ---- the import --------------------------------------------------------------------------------

def _leaf_shape(mapping: hf_keys.KeyMapping, shapes: dict[str, Any]) -> tuple[int, ...]:
  node = shapes
  for p in mapping.path:
    node = node[p]
  return node[0]


def _expected_hf_shape(mapping: hf_keys.KeyMapping, ours: tuple[int, ...],
                       config: LlamaConfig) -> tuple[int, ...]:
  layer_shape = ours[1:] if mapping.per_layer else ours
  return mapping.to_hf(np.empty(layer_shape, np.uint8), config).shape


def _plan(config: LlamaConfig, weight_map: dict[str, str],
          hf_dir: epath.Path) -> list[tuple[hf_keys.KeyMapping, list[str]]]:
  """(mapping, its HF keys in layer order) per params leaf; every key checked present first."""
  plan = []
  for mapping in hf_keys.key_map(config):
    keys = hf_keys.hf_keys(mapping, config)
    for key in keys:
      if key not in weight_map:
        raise KeyError(f"HF checkpoint {hf_dir} is missing tensor {key!r}")
    plan.append((mapping, keys))
  ignored = sorted(set(weight_map) - {k for _, keys in plan for k in keys})
  if ignored:
    logging.info("HF import ignores %d tensors not used by the model, e.g. %s", len(ignored),
                 ignored[:3])
  return plan


def _read_leaf(mapping: hf_keys.KeyMapping, keys: list[str], leaf: HostLeaf | ShardedLeaf,
               files: _Files, weight_map: dict[str, str], config: LlamaConfig,
               expected: tuple[int, ...]) -> None:
  """Reads each of the leaf's HF tensors once and writes it, in our layout, into `leaf`."""
  for layer, key in enumerate(keys):
    tensor = files.get(weight_map[key]).get_tensor(key)
    if tuple(tensor.shape) != tuple(expected):
      raise ValueError(f"HF tensor {key!r} has shape {tuple(tensor.shape)}, expected {expected} "
                       f"for this config")
    leaf.set(layer if mapping.per_layer else None, mapping.to_ours(tensor, config))
    del tensor


def import_hf(hf_dir: epath.PathLike, *, shardings: Any = None,
              **config_overrides: Any) -> tuple[LlamaConfig, dict]:
  """Returns (config, params in config.param_dtype): numpy arrays, or with `shardings` (a pytree
  like partitioning.param_shardings(config, mesh), or a function of the config returning one)
  jax.Arrays placed on them, each host building only its own shards, one leaf at a time."""
  hf_dir = epath.Path(hf_dir)
  if not hf_dir.exists():
    raise FileNotFoundError(f"HF checkpoint directory {hf_dir} does not exist")
  config = hf_config.from_hf_config(hf_config.read_hf_config(hf_dir), **config_overrides)
  shapes = param_shapes(config)
  dtype = np.dtype(config.params_dtype)
  params: dict[str, Any] = {}
  with _open_files(hf_dir) as files:
    weight_map = _weight_map(hf_dir, files)
    plan = _plan(config, weight_map, hf_dir)
    if callable(shardings):
      shardings = shardings(config)
    for mapping, keys in plan:
      shape = _leaf_shape(mapping, shapes)
      leaf = new_leaf(shape, dtype, None if shardings is None else sharding_at(shardings, mapping))
      _read_leaf(mapping, keys, leaf, files, weight_map, config,
                 _expected_hf_shape(mapping, shape, config))
      set_leaf(params, mapping, leaf.finish())
      del leaf
  return config, params
