"""HF config.json <-> LlamaConfig (both the transformers>=5 `rope_parameters` and legacy keys)."""

from __future__ import annotations

import json
from typing import Any

from etils import epath

from selfchallenge_jax.model.config import LlamaConfig, RopeScaling

_DTYPE_NAMES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def from_hf_config(hf: dict[str, Any], **overrides: Any) -> LlamaConfig:
  """Builds a LlamaConfig from a parsed HF config.json; rejects non-Llama architectures."""
  archs = hf.get("architectures") or []
  if hf.get("model_type") != "llama" or (archs and "LlamaForCausalLM" not in archs):
    raise ValueError(f"not a Llama checkpoint: model_type={hf.get('model_type')!r}, "
                     f"architectures={archs}; only LlamaForCausalLM is supported")
  for flag in ("attention_bias", "mlp_bias"):
    if hf.get(flag):
      raise ValueError(f"HF config sets {flag}=true; Llama without biases is the only supported form")
  if hf.get("hidden_act", "silu") != "silu":
    raise ValueError(f"hidden_act={hf.get('hidden_act')!r}; Llama uses silu")
  rope = dict(hf.get("rope_parameters") or hf.get("rope_scaling") or {})
  rope_theta = float(rope.get("rope_theta", hf.get("rope_theta", 10000.0)))
  rope_type = rope.get("rope_type", rope.get("type", "default"))
  scaling = None
  if rope_type == "llama3":
    scaling = RopeScaling(factor=float(rope["factor"]), low_freq_factor=float(rope["low_freq_factor"]),
                          high_freq_factor=float(rope["high_freq_factor"]),
                          original_max_position_embeddings=int(rope["original_max_position_embeddings"]))
  elif rope_type not in ("default", None):
    raise ValueError(f"rope type {rope_type!r} is not supported (default and llama3 are)")
  eos = hf.get("eos_token_id", 2)
  dtype = hf.get("dtype", hf.get("torch_dtype")) or "float32"
  kwargs = dict(
      vocab_size=int(hf["vocab_size"]), d_model=int(hf["hidden_size"]),
      num_layers=int(hf["num_hidden_layers"]), num_heads=int(hf["num_attention_heads"]),
      num_kv_heads=int(hf.get("num_key_value_heads") or hf["num_attention_heads"]),
      mlp_dim=int(hf["intermediate_size"]), head_dim=hf.get("head_dim"),
      max_seq_len=int(hf.get("max_position_embeddings", 4096)), rope_theta=rope_theta,
      rope_scaling=scaling, norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
      tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
      param_dtype=_DTYPE_NAMES.get(str(dtype), "float32"),
      bos_id=int(hf.get("bos_token_id") if hf.get("bos_token_id") is not None else 1),
      eos_id=int(eos[0] if isinstance(eos, list) else (eos if eos is not None else 2)),
  )
  kwargs.update(overrides)
  return LlamaConfig(**kwargs)


def to_hf_config(config: LlamaConfig) -> dict[str, Any]:
  """The config.json that transformers.LlamaForCausalLM loads for these params."""
  rope: dict[str, Any] = {"rope_theta": config.rope_theta, "rope_type": "default"}
  if config.rope_scaling is not None:
    s = config.rope_scaling
    rope.update(rope_type="llama3", factor=s.factor, low_freq_factor=s.low_freq_factor,
                high_freq_factor=s.high_freq_factor,
                original_max_position_embeddings=s.original_max_position_embeddings)
  return {
      "architectures": ["LlamaForCausalLM"], "model_type": "llama",
      "vocab_size": config.vocab_size, "hidden_size": config.d_model,
      "num_hidden_layers": config.num_layers, "num_attention_heads": config.num_heads,
      "num_key_value_heads": config.num_kv_heads, "intermediate_size": config.mlp_dim,
      "head_dim": config.resolved_head_dim, "max_position_embeddings": config.max_seq_len,
      "rms_norm_eps": config.norm_eps, "tie_word_embeddings": config.tie_embeddings,
      "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
      "rope_parameters": rope, "dtype": config.param_dtype,
      "bos_token_id": config.bos_id, "eos_token_id": config.eos_id,
  }


def read_hf_config(hf_dir: epath.PathLike) -> dict[str, Any]:
  path = epath.Path(hf_dir) / "config.json"
  if not path.exists():
    raise FileNotFoundError(f"{path} not found: an HF checkpoint directory needs config.json")
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON: {e}") from e
