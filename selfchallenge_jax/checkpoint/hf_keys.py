"""The one HF <-> params key map, with the per-tensor layout transforms.

HF stores Linear weights as [out, in]; we store [in, out] with heads split out. Our RoPE uses HF's
half-split layout (model/rope.py), so q/k need no permutation: the transforms below are the only
layout difference between the two formats.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from selfchallenge_jax.model.config import LlamaConfig


@dataclasses.dataclass(frozen=True)
class KeyMapping:
  hf_key: str                   # may contain "{layer}"
  path: tuple[str, ...]         # path in the params pytree
  to_ours: Callable[[np.ndarray, LlamaConfig], np.ndarray]
  to_hf: Callable[[np.ndarray, LlamaConfig], np.ndarray]

  @property
  def per_layer(self) -> bool:
    return "{layer}" in self.hf_key


def _same(x, c):
  return x


def _transpose(x, c):
  return x.T


def _heads_in(num_heads_attr: str):
  def to_ours(x, c):      # [N*Dh, D] -> [D, N, Dh]
    return x.T.reshape(c.d_model, getattr(c, num_heads_attr), c.resolved_head_dim)

  def to_hf(x, c):        # [D, N, Dh] -> [N*Dh, D]
    return x.reshape(c.d_model, -1).T
  return to_ours, to_hf


def _o_to_ours(x, c):     # [D, H*Dh] -> [H, Dh, D]
  return x.T.reshape(c.num_heads, c.resolved_head_dim, c.d_model)


def _o_to_hf(x, c):       # [H, Dh, D] -> [D, H*Dh]
  return x.reshape(-1, c.d_model).T


_Q = _heads_in("num_heads")
_KV = _heads_in("num_kv_heads")
_P = "model.layers.{layer}."

KEY_MAP: tuple[KeyMapping, ...] = (
    KeyMapping("model.embed_tokens.weight", ("embed", "embedding"), _same, _same),
    KeyMapping(_P + "input_layernorm.weight", ("layers", "attn_norm", "scale"), _same, _same),
    KeyMapping(_P + "self_attn.q_proj.weight", ("layers", "attn", "q_proj"), *_Q),
    KeyMapping(_P + "self_attn.k_proj.weight", ("layers", "attn", "k_proj"), *_KV),
    KeyMapping(_P + "self_attn.v_proj.weight", ("layers", "attn", "v_proj"), *_KV),
    KeyMapping(_P + "self_attn.o_proj.weight", ("layers", "attn", "o_proj"), _o_to_ours, _o_to_hf),
    KeyMapping(_P + "post_attention_layernorm.weight", ("layers", "mlp_norm", "scale"), _same, _same),
    KeyMapping(_P + "mlp.gate_proj.weight", ("layers", "mlp", "gate_proj"), _transpose, _transpose),
    KeyMapping(_P + "mlp.up_proj.weight", ("layers", "mlp", "up_proj"), _transpose, _transpose),
    KeyMapping(_P + "mlp.down_proj.weight", ("layers", "mlp", "down_proj"), _transpose, _transpose),
    KeyMapping("model.norm.weight", ("final_norm", "scale"), _same, _same),
    KeyMapping("lm_head.weight", ("lm_head", "kernel"), _transpose, _transpose),
)


def key_map(config: LlamaConfig) -> tuple[KeyMapping, ...]:
  """The mappings that apply to `config` (no lm_head when embeddings are tied)."""
  return tuple(m for m in KEY_MAP if not (config.tie_embeddings and m.path[0] == "lm_head"))


def hf_keys(mapping: KeyMapping, config: LlamaConfig) -> list[str]:
  if mapping.per_layer:
    return [mapping.hf_key.format(layer=i) for i in range(config.num_layers)]
  return [mapping.hf_key]
