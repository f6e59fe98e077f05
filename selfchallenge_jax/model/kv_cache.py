"""The static-shape KV cache: one K and one V buffer per layer plus per-slot valid lengths.

Layout (chosen for the decode step's attention dots, measured in benchmarks/RESULTS.md): keys are
stored transposed, [B, K, Dh, S], so the scores q·K are a plain [G, Dh] x [Dh, S] matmul per
(slot, KV head); values are [B, K, S, Dh], so probs·V is [G, S] x [S, Dh]. Neither needs a
transpose of the cache per step (with a [B, S, K, Dh] layout XLA:CPU ran both attention dots
on its generic path: 4.6 and 5.6 ms per layer of a ~150 ms decode step at 16 x 4 slots).

Separate buffers per layer, not one stacked [L, ...] array: reading layer l out of a stacked
cache is a dynamic-slice that XLA materializes as a copy of the layer's whole cache before the
attention dots (two such copies per layer were a third of a 64-slot decode step).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from selfchallenge_jax.model.config import LlamaConfig

K_CACHE_LOGICAL_AXES = ("batch", "act_kv_heads", None, "cache_seq")      # one layer's keys
V_CACHE_LOGICAL_AXES = ("batch", "act_kv_heads", "cache_seq", None)      # one layer's values


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KVCache:
  k: list[jax.Array]    # L x [B, K, Dh, S]
  v: list[jax.Array]    # L x [B, K, S, Dh]
  lengths: jax.Array    # int32 [B]: tokens of each slot currently in the cache

  @property
  def max_len(self) -> int:
    return self.k[0].shape[3]

  @property
  def batch_size(self) -> int:
    return self.k[0].shape[0]

  @property
  def num_layers(self) -> int:
    return len(self.k)

  @classmethod
  def logical_axes(cls, num_layers: int) -> "KVCache":
    """The cache's logical-axes tree (for sharding/rules.tree_shardings)."""
    return cls(k=[K_CACHE_LOGICAL_AXES] * num_layers, v=[V_CACHE_LOGICAL_AXES] * num_layers,
               lengths=("batch",))

  @classmethod
  def init(cls, config: LlamaConfig, batch_size: int, max_len: int,
           dtype: jnp.dtype | None = None) -> "KVCache":
    L, K, Dh = config.num_layers, config.num_kv_heads, config.resolved_head_dim
    dtype = dtype or config.activation_dtype
    return cls(k=[jnp.zeros((batch_size, K, Dh, max_len), dtype) for _ in range(L)],
               v=[jnp.zeros((batch_size, K, max_len, Dh), dtype) for _ in range(L)],
               lengths=jnp.zeros((batch_size,), jnp.int32))

  def padded(self, max_len: int) -> "KVCache":
    """The same cache grown to max_len positions (not fewer than it has; new ones are zeros)."""
    extra = max_len - self.max_len
    if extra < 0:
      raise ValueError(f"cannot pad a cache of {self.max_len} positions to {max_len}")
    pad = lambda x, axis: jnp.pad(x, [(0, extra if a == axis else 0) for a in range(x.ndim)])
    return KVCache(k=[pad(k, 3) for k in self.k], v=[pad(v, 2) for v in self.v],
                   lengths=self.lengths)

  def window(self, size: int) -> "KVCache":
    """The first `size` positions of every slot (a copy; see `with_window`)."""
    return KVCache(k=[k[..., :size] for k in self.k], v=[v[:, :, :size] for v in self.v],
                   lengths=self.lengths)

  def with_window(self, window: "KVCache") -> "KVCache":
    """This cache with its first window.max_len positions and the lengths taken from `window`."""
    size = window.max_len
    return KVCache(k=[k.at[..., :size].set(w) for k, w in zip(self.k, window.k)],
                   v=[v.at[:, :, :size].set(w) for v, w in zip(self.v, window.v)],
                   lengths=window.lengths)

  def keys_at(self, layer: int, slot: int, count: int):
    """Keys [count, K, Dh] of one slot's first `count` positions (for tests and debugging)."""
    return jnp.moveaxis(self.k[layer][slot, :, :, :count], -1, 0)

  def values_at(self, layer: int, slot: int, count: int):
    """Values [count, K, Dh] of one slot's first `count` positions."""
    return jnp.moveaxis(self.v[layer][slot, :, :count], 1, 0)
