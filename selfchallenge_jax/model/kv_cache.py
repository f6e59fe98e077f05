"""The static-shape KV cache: per-layer K/V buffers plus per-slot valid lengths."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from selfchallenge_jax.model.config import LlamaConfig

CACHE_LOGICAL_AXES = ("layers", "batch", "cache_seq", "act_kv_heads", None)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KVCache:
  k: jax.Array          # [L, B, S, K, Dh]
  v: jax.Array          # [L, B, S, K, Dh]
  lengths: jax.Array    # int32 [B]: tokens of each slot currently in the cache

  @property
  def max_len(self) -> int:
    return self.k.shape[2]

  @property
  def batch_size(self) -> int:
    return self.k.shape[1]

  @classmethod
  def init(cls, config: LlamaConfig, batch_size: int, max_len: int,
           dtype: jnp.dtype | None = None) -> "KVCache":
    shape = (config.num_layers, batch_size, max_len, config.num_kv_heads, config.resolved_head_dim)
    dtype = dtype or config.activation_dtype
    return cls(k=jnp.zeros(shape, dtype), v=jnp.zeros(shape, dtype),
               lengths=jnp.zeros((batch_size,), jnp.int32))
