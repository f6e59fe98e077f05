"""Import a llama.cpp GGUF Llama (float or quantized) into params, through the one HF key map.

A GGUF tensor lists its dims fastest-first (ggml's ne[0] is the input dimension of a Linear), so
GGUFReader's numpy view of a weight, dequantized, is HF's [out, in]. llama.cpp's converter
(convert_hf_to_gguf.py, `LlamaModel.permute`) also reorders the rows of q and k for its
interleaved RoPE. Each GGUF tensor is therefore first turned back into the HF tensor (dequantize,
undo that permutation) and then into ours by hf_keys' `to_ours`: both formats share one layout map.

The params are built one leaf at a time (e.g. the stacked [L, D, H, Dh] q_proj from the L
`blk.{i}.attn_q.weight` tensors), as hf_import builds them: with shardings, each tensor is written
straight into this host's shards of its leaf, which go onto their devices before the next leaf is
started, so a host holds one dequantized tensor plus its own part of one leaf (a whole stacked
leaf of 70B, e.g. mlp gate_proj, is 38 GB in bf16). Everything that can be checked without
dequantizing (metadata, tensor names, types and shapes, vocab sizes) is checked first, so a bad
file fails fast with one GGUFImportError naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any, Iterator

import gguf
import numpy as np
from absl import logging
from etils import epath
from gguf import GGMLQuantizationType as QType

from selfchallenge_jax.checkpoint import hf_import, hf_keys
from selfchallenge_jax.io.local_copies import local_file
from selfchallenge_jax.model.config import LlamaConfig, RopeScaling
from selfchallenge_jax.model.llama import param_shapes
from selfchallenge_jax.model.rope import inverse_frequencies

ARCHITECTURE = "llama"
# Tensor types read here: the float types and the quantizations gguf.quants dequantizes that
# llama.cpp's common presets use (the legacy Q4/Q5/Q8 blocks and the K-quants).
SUPPORTED_TYPES = frozenset({
    QType.F32, QType.F16, QType.BF16, QType.Q4_0, QType.Q4_1, QType.Q5_0, QType.Q5_1,
    QType.Q8_0, QType.Q2_K, QType.Q3_K, QType.Q4_K, QType.Q5_K, QType.Q6_K})

# HF key (hf_keys.KEY_MAP) -> GGUF tensor name, as llama.cpp's converter names Llama tensors.
GGUF_NAMES: dict[str, str] = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.layers.{layer}.input_layernorm.weight": "blk.{layer}.attn_norm.weight",
    "model.layers.{layer}.self_attn.q_proj.weight": "blk.{layer}.attn_q.weight",
    "model.layers.{layer}.self_attn.k_proj.weight": "blk.{layer}.attn_k.weight",
    "model.layers.{layer}.self_attn.v_proj.weight": "blk.{layer}.attn_v.weight",
    "model.layers.{layer}.self_attn.o_proj.weight": "blk.{layer}.attn_output.weight",
    "model.layers.{layer}.post_attention_layernorm.weight": "blk.{layer}.ffn_norm.weight",
    "model.layers.{layer}.mlp.gate_proj.weight": "blk.{layer}.ffn_gate.weight",
    "model.layers.{layer}.mlp.up_proj.weight": "blk.{layer}.ffn_up.weight",
    "model.layers.{layer}.mlp.down_proj.weight": "blk.{layer}.ffn_down.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
ROPE_FREQS = "rope_freqs.weight"       # llama.cpp's form of Llama 3.x frequency scaling
# What llama.cpp's converter assumes for Llama 3.x scaling when it writes rope_freqs.weight.
_LLAMA3_DEFAULT_ORIGINAL_CONTEXT = 8192
_MISSING = object()


class GGUFImportError(ValueError):
  """A GGUF file this importer cannot read as a Llama: the message names the file and why."""


def undo_llama_cpp_qk_permutation(weight: np.ndarray, num_heads: int) -> np.ndarray:
  """llama.cpp's q/k rows [N*Dh, ...] (per head: rotation pairs interleaved) -> HF's (per head:
  first halves, then second halves), the inverse of convert_hf_to_gguf's `LlamaModel.permute`.

  num_heads is the tensor's own head count: num_heads for q, num_kv_heads for k.
  """
  rows = weight.shape[0]
  if rows % (2 * num_heads):
    raise GGUFImportError(f"cannot undo llama.cpp's q/k permutation: {rows} rows is not a "
                          f"multiple of 2 x {num_heads} heads")
  pairs = weight.reshape(num_heads, rows // num_heads // 2, 2, *weight.shape[1:])
  return pairs.swapaxes(1, 2).reshape(weight.shape)


# ---- reading the file --------------------------------------------------------------------------

@contextlib.contextmanager
def _open_reader(path: epath.PathLike) -> Iterator[gguf.GGUFReader]:
  """A memory-mapped GGUFReader on `path` (gs:// is staged to a local temp file first)."""
  path = epath.Path(path)
  if not path.exists():
    raise GGUFImportError(f"GGUF file {path} does not exist")
  if path.is_dir():
    raise GGUFImportError(f"GGUF path {path} is a directory, not a .gguf file")
  with local_file(path) as local:
    with open(local, "rb") as f:
      magic = f.read(4)
    if magic != b"GGUF":
      raise GGUFImportError(f"{path} is not a GGUF file (it starts with {magic!r}, not b'GGUF')")
    try:
      reader = gguf.GGUFReader(local)
    except ValueError as e:
      unknown = re.search(r"(\d+)\)? is not a valid GGMLQuantizationType", str(e))
      if unknown:
        raise GGUFImportError(f"GGUF file {path} has a tensor of unknown quantization type id "
                              f"{unknown.group(1)} (not a GGML type this gguf package knows)") from e
      raise GGUFImportError(f"GGUF file {path} is truncated or corrupt: {e}") from e
    except (IndexError, KeyError, TypeError, OverflowError, UnicodeDecodeError) as e:
      raise GGUFImportError(f"GGUF file {path} is truncated or corrupt: "
                            f"{type(e).__name__}: {e}") from e
    _check_tensor_data_in_file(reader, path, os.path.getsize(local))
    try:
      yield reader
    finally:
      del reader


def _check_tensor_data_in_file(reader: gguf.GGUFReader, path: epath.Path, size: int) -> None:
  for t in reader.tensors:
    if t.data_offset + t.n_bytes > size:
      raise GGUFImportError(f"GGUF file {path} is truncated: tensor {t.name!r} needs bytes up to "
                            f"{t.data_offset + t.n_bytes}, the file has {size}")


def _value(reader: gguf.GGUFReader, key: str, path: epath.Path, default: Any = _MISSING) -> Any:
  """A metadata value as a Python scalar, str or list (arrays of strings decoded as UTF-8)."""
  field = reader.get_field(key)
  if field is None:
    if default is _MISSING:
      raise GGUFImportError(f"GGUF file {path} lacks the metadata key {key!r}")
    return default
  try:
    return field.contents()
  except (UnicodeDecodeError, ValueError, IndexError) as e:
    raise GGUFImportError(f"GGUF file {path}: metadata {key!r} is unreadable: {e}") from e


def _int(reader, key, path, default: Any = _MISSING) -> int:
  value = _value(reader, key, path, default)
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise GGUFImportError(f"GGUF file {path}: metadata {key!r} = {value!r}, expected one integer "
                          "(per-layer values are not supported)")
  return int(value)


def _float(reader, key, path, default: Any = _MISSING) -> float:
  """A number; float32 metadata as the shortest decimal that rounds to it (1e-05, not
  9.999999747378752e-06), which is what config.json held and the same float32 in every op."""
  value = _value(reader, key, path, default)
  if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
    raise GGUFImportError(f"GGUF file {path}: metadata {key!r} = {value!r}, expected a number")
  field = reader.get_field(key)
  if field is not None and field.types == [gguf.GGUFValueType.FLOAT32]:
    return float(str(np.float32(value)))
  return float(value)


def _tensor_shape(t) -> tuple[int, ...]:
  """The numpy shape of a GGUF tensor (its ggml dims reversed): HF's [out, in] for a weight."""
  return tuple(int(d) for d in reversed(t.shape.tolist()))


def _dequantize(t) -> np.ndarray:
  """float32 values of a GGUF tensor in its numpy shape."""
  return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), np.float32).reshape(
      _tensor_shape(t))


# ---- config ------------------------------------------------------------------------------------

def _vocab_size(reader, tensors, path) -> int:
  """The vocab size on which the token list, `llama.vocab_size` and the embedding rows agree."""
  sizes = {}
  if reader.get_field(f"{ARCHITECTURE}.vocab_size") is not None:
    sizes[f"{ARCHITECTURE}.vocab_size"] = _int(reader, f"{ARCHITECTURE}.vocab_size", path)
  tokens = reader.get_field("tokenizer.ggml.tokens")
  if tokens is not None:
    sizes["tokenizer.ggml.tokens (length)"] = len(tokens.data)
  embed = tensors.get(GGUF_NAMES["model.embed_tokens.weight"])
  if embed is not None and len(embed.shape) == 2:
    sizes["token_embd.weight rows"] = _tensor_shape(embed)[0]
  if not sizes:
    raise GGUFImportError(f"GGUF file {path} gives no vocab size (no {ARCHITECTURE}.vocab_size, "
                          "token list or token_embd.weight)")
  if len(set(sizes.values())) > 1:
    listed = ", ".join(f"{k} = {v}" for k, v in sizes.items())
    raise GGUFImportError(f"GGUF file {path} has a vocab size mismatch: {listed}")
  return next(iter(sizes.values()))


def _rope_scaling(reader, tensors, config: LlamaConfig, path) -> RopeScaling | None:
  """None, or Llama 3.x scaling read back from llama.cpp's per-frequency `rope_freqs.weight`."""
  prefix = f"{ARCHITECTURE}.rope.scaling."
  kind = str(_value(reader, prefix + "type", path, "none"))
  factor = _float(reader, prefix + "factor", path, 1.0)
  if kind not in ("none", "") and not (kind == "linear" and factor == 1.0):
    raise GGUFImportError(f"GGUF file {path} uses rope scaling type {kind!r} (factor {factor}); "
                          "only none and Llama 3 scaling (a rope_freqs.weight tensor) are supported")
  t = tensors.get(ROPE_FREQS)
  if t is None:
    return None
  if t.tensor_type not in SUPPORTED_TYPES:
    raise GGUFImportError(f"GGUF file {path}: tensor {ROPE_FREQS!r} has unsupported type "
                          f"{t.tensor_type.name}")
  freq_factors = _dequantize(t).reshape(-1)
  half = config.resolved_head_dim // 2
  if freq_factors.shape != (half,):
    raise GGUFImportError(f"GGUF file {path}: {ROPE_FREQS!r} has {freq_factors.size} values, "
                          f"expected head_dim / 2 = {half}")
  if np.all(freq_factors == 1.0):
    return None
  original = _int(reader, prefix + "original_context_length", path,
                  _LLAMA3_DEFAULT_ORIGINAL_CONTEXT)
  scaling = RopeScaling(factor=float(freq_factors.max()), original_max_position_embeddings=original)
  expected = inverse_frequencies(config.replace(rope_scaling=None)) / freq_factors
  ours = inverse_frequencies(config.replace(rope_scaling=scaling))
  if not np.allclose(ours, expected, rtol=1e-5, atol=0):
    raise GGUFImportError(
        f"GGUF file {path}: {ROPE_FREQS!r} is not Llama 3 frequency scaling with factor "
        f"{scaling.factor}, low/high frequency factors {scaling.low_freq_factor}/"
        f"{scaling.high_freq_factor} and original context {original} (the form llama.cpp's "
        "converter writes); other frequency factors are not supported")
  return scaling


def _config(reader, tensors, path, overrides: dict[str, Any]) -> LlamaConfig:
  arch = _value(reader, "general.architecture", path)
  if arch != ARCHITECTURE:
    raise GGUFImportError(f"GGUF file {path} has architecture {arch!r}; only {ARCHITECTURE!r} "
                          "(LlamaForCausalLM) is supported")
  a = ARCHITECTURE
  d_model = _int(reader, f"{a}.embedding_length", path)
  num_heads = _int(reader, f"{a}.attention.head_count", path)
  default_head_dim = d_model // num_heads if num_heads > 0 else 0
  head_dim = _int(reader, f"{a}.rope.dimension_count", path,
                  _int(reader, f"{a}.attention.key_length", path, default_head_dim))
  for key in ("attention.key_length", "attention.value_length"):
    length = _int(reader, f"{a}.{key}", path, head_dim)
    if length != head_dim:
      raise GGUFImportError(f"GGUF file {path}: {a}.{key} = {length} differs from the RoPE "
                            f"dimension {head_dim}; partial RoPE is not supported")
  if reader.get_field(f"{a}.expert_count") is not None and _int(reader, f"{a}.expert_count", path):
    raise GGUFImportError(f"GGUF file {path} is a mixture-of-experts model; only dense Llama is "
                          "supported")
  kwargs: dict[str, Any] = dict(
      vocab_size=_vocab_size(reader, tensors, path), d_model=d_model,
      num_layers=_int(reader, f"{a}.block_count", path), num_heads=num_heads,
      num_kv_heads=_int(reader, f"{a}.attention.head_count_kv", path, num_heads),
      mlp_dim=_int(reader, f"{a}.feed_forward_length", path),
      head_dim=None if head_dim == default_head_dim else head_dim,
      max_seq_len=_int(reader, f"{a}.context_length", path),
      rope_theta=_float(reader, f"{a}.rope.freq_base", path, 10000.0),
      norm_eps=_float(reader, f"{a}.attention.layer_norm_rms_epsilon", path),
      tie_embeddings=GGUF_NAMES["lm_head.weight"] not in tensors,
      param_dtype="float32",
      bos_id=_int(reader, "tokenizer.ggml.bos_token_id", path, 1),
      eos_id=_int(reader, "tokenizer.ggml.eos_token_id", path, 2),
  )
  kwargs.update(overrides)
  try:
    config = LlamaConfig(**kwargs)
    if "rope_scaling" not in overrides:
      config = config.replace(rope_scaling=_rope_scaling(reader, tensors, config, path))
  except ValueError as e:
    if isinstance(e, GGUFImportError):
      raise
    raise GGUFImportError(f"GGUF file {path}: its metadata with overrides {overrides} make an "
                          f"invalid Llama config: {e}") from e
  return config


# ---- tensors -----------------------------------------------------------------------------------

def _gguf_names(mapping: hf_keys.KeyMapping, config: LlamaConfig) -> list[str]:
  template = GGUF_NAMES[mapping.hf_key]
  if mapping.per_layer:
    return [template.format(layer=i) for i in range(config.num_layers)]
  return [template]


def _leaf_shape(mapping: hf_keys.KeyMapping, shapes: dict[str, Any]) -> tuple[int, ...]:
  node = shapes
  for p in mapping.path:
    node = node[p]
  return node[0]


def _expected_shape(mapping: hf_keys.KeyMapping, leaf_shape, config) -> tuple[int, ...]:
  layer_shape = leaf_shape[1:] if mapping.per_layer else leaf_shape
  return mapping.to_hf(np.empty(layer_shape, np.uint8), config).shape


def _plan(tensors, config: LlamaConfig, path) -> list[tuple[hf_keys.KeyMapping, list[Any]]]:
  """(mapping, its GGUF tensors) per params leaf, after checking presence, types and shapes."""
  shapes = param_shapes(config)
  plan, missing, used = [], [], {ROPE_FREQS}
  for mapping in hf_keys.key_map(config):
    names = _gguf_names(mapping, config)
    used.update(names)
    missing += [n for n in names if n not in tensors]
    if missing:
      continue
    expected = _expected_shape(mapping, _leaf_shape(mapping, shapes), config)
    for name in names:
      t = tensors[name]
      if t.tensor_type not in SUPPORTED_TYPES:
        supported = ", ".join(sorted(q.name for q in SUPPORTED_TYPES))
        raise GGUFImportError(f"GGUF file {path}: tensor {name!r} has type {t.tensor_type.name}, "
                              f"which this importer does not read (supported: {supported})")
      if _tensor_shape(t) != tuple(expected):
        raise GGUFImportError(f"GGUF file {path}: tensor {name!r} has shape {_tensor_shape(t)} "
                              f"(numpy order), expected {tuple(expected)} for this config")
    plan.append((mapping, [tensors[n] for n in names]))
  if missing:
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    raise GGUFImportError(f"GGUF file {path} is missing tensors {missing[:5]}{more}")
  unknown = sorted(set(tensors) - used)
  if unknown:
    raise GGUFImportError(f"GGUF file {path} has tensors a Llama without biases does not have, "
                          f"e.g. {unknown[:3]} ({len(unknown)} in all)")
  return plan


def _hf_tensor(t, mapping: hf_keys.KeyMapping, config: LlamaConfig) -> np.ndarray:
  """The HF tensor (layout and values) a GGUF tensor stores."""
  value = _dequantize(t)
  if mapping.path[-1] == "q_proj":
    value = undo_llama_cpp_qk_permutation(value, config.num_heads)
  elif mapping.path[-1] == "k_proj":
    value = undo_llama_cpp_qk_permutation(value, config.num_kv_heads)
  return value


def import_gguf(path: epath.PathLike, *, shardings: Any = None,
                **config_overrides: Any) -> tuple[LlamaConfig, dict]:
  """Returns (config, params) from a llama.cpp GGUF Llama file (local or gs://).

  Params are numpy arrays in config.param_dtype (float32 unless overridden), or, with `shardings`
  (a pytree like partitioning.param_shardings(config, mesh), or a function of the imported config
  returning one), jax.Arrays on those shardings, each
  leaf placed before the next is built (each host builds only its addressable shards).
  Raises GGUFImportError for anything the file gets wrong.
  """
  path = epath.Path(path)
  with _open_reader(path) as reader:
    tensors = {t.name: t for t in reader.tensors}
    config = _config(reader, tensors, path, config_overrides)
    plan = _plan(tensors, config, path)
    if callable(shardings):
      shardings = shardings(config)
    shapes = param_shapes(config)
    dtype = np.dtype(config.params_dtype)
    params: dict[str, Any] = {}
    for mapping, layer_tensors in plan:
      sharding = None if shardings is None else hf_import.sharding_at(shardings, mapping)
      leaf = hf_import.new_leaf(_leaf_shape(mapping, shapes), dtype, sharding)
      for i, t in enumerate(layer_tensors):
        leaf.set(i if mapping.per_layer else None,
                 mapping.to_ours(_hf_tensor(t, mapping, config), config))
      hf_import.set_leaf(params, mapping, leaf.finish())
      del leaf
    logging.info("imported GGUF %s: %d tensors (%s)", path, len(tensors),
                 ", ".join(sorted({t.tensor_type.name for t in tensors.values()})))
  return config, params


# ---- tokenizer metadata ------------------------------------------------------------------------

_TOKENIZER_KEYS = {
    "model": "tokenizer.ggml.model", "pre": "tokenizer.ggml.pre",
    "tokens": "tokenizer.ggml.tokens", "scores": "tokenizer.ggml.scores",
    "token_type": "tokenizer.ggml.token_type", "merges": "tokenizer.ggml.merges",
    "bos_token_id": "tokenizer.ggml.bos_token_id", "eos_token_id": "tokenizer.ggml.eos_token_id",
    "unknown_token_id": "tokenizer.ggml.unknown_token_id",
    "padding_token_id": "tokenizer.ggml.padding_token_id",
    "add_bos_token": "tokenizer.ggml.add_bos_token", "add_eos_token": "tokenizer.ggml.add_eos_token",
    "add_space_prefix": "tokenizer.ggml.add_space_prefix",
    "chat_template": "tokenizer.chat_template",
}


def gguf_tokenizer_fields(path: epath.PathLike) -> dict[str, Any]:
  """The tokenizer metadata of a GGUF file as a plain dict (None for absent keys).

  Keys: model (`tokenizer.ggml.model`, e.g. "gpt2" for byte-level BPE, "llama" for SentencePiece),
  pre (the pre-tokenizer name), tokens, scores, token_type, merges (lists), bos/eos/unknown/padding
  token ids, add_bos_token, add_eos_token, add_space_prefix, chat_template.
  """
  path = epath.Path(path)
  with _open_reader(path) as reader:
    return {name: _value(reader, key, path, None) for name, key in _TOKENIZER_KEYS.items()}
