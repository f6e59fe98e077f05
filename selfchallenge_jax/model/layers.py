"""Llama building blocks as pure functions: RMSNorm, GQA attention (full and cached), SwiGLU MLP."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.kv_cache import K_CACHE_LOGICAL_AXES, V_CACHE_LOGICAL_AXES
from selfchallenge_jax.model.rope import apply_rope
from selfchallenge_jax.sharding.rules import constrain


def rms_norm(x: jax.Array, scale: jax.Array, eps: float) -> jax.Array:
  """x * rsqrt(mean(x^2) + eps) * scale, statistics in float32 (as HF does)."""
  x32 = x.astype(jnp.float32)
  normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + eps)
  return (normed.astype(x.dtype) * scale.astype(x.dtype))


def _project_qkv(p: dict[str, Any], x: jax.Array, positions: jax.Array, inv_freq: np.ndarray,
                 config: LlamaConfig) -> tuple[jax.Array, jax.Array, jax.Array]:
  dt = config.activation_dtype
  q = jnp.einsum("btd,dhk->bthk", x, p["q_proj"].astype(dt))
  k = jnp.einsum("btd,dhk->bthk", x, p["k_proj"].astype(dt))
  v = jnp.einsum("btd,dhk->bthk", x, p["v_proj"].astype(dt))
  q = constrain(apply_rope(q, positions, inv_freq), ("batch", "seq", "act_heads", None))
  k = constrain(apply_rope(k, positions, inv_freq), ("batch", "seq", "act_kv_heads", None))
  v = constrain(v, ("batch", "seq", "act_kv_heads", None))
  return q, k, v


def _attend(q: jax.Array, k_t: jax.Array, v: jax.Array, mask: jax.Array) -> jax.Array:
  """q [B, T, H, Dh], k_t [B, K, Dh, S] (transposed keys), v [B, K, S, Dh], mask bool [B, T, S].

  The T queries of a KV head's G heads are one [T*G, Dh] row block, so both dots are plain
  batched matmuls over (B, K) (XLA:CPU sends these to its fast path; a dot with separate
  size-1 T and G dims ran 3x slower in the decode step).
  """
  B, T, H, Dh = q.shape
  K = k_t.shape[1]
  G = H // K
  q = q.reshape(B, T, K, G, Dh).transpose(0, 2, 1, 3, 4).reshape(B, K, T * G, Dh)
  q = q * jnp.asarray(1.0 / np.sqrt(Dh), q.dtype)
  scores = jnp.einsum("bkqd,bkds->bkqs", q, k_t, preferred_element_type=jnp.float32)
  scores = scores.reshape(B, K, T, G, -1)
  scores = jnp.where(mask[:, None, :, None, :], scores, jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype).reshape(B, K, T * G, -1)
  out = jnp.einsum("bkqs,bksd->bkqd", probs, v)
  return out.reshape(B, K, T, G, Dh).transpose(0, 2, 1, 3, 4).reshape(B, T, H, Dh)


def _output(p: dict[str, Any], out: jax.Array, config: LlamaConfig) -> jax.Array:
  y = jnp.einsum("bthk,hkd->btd", out, p["o_proj"].astype(config.activation_dtype))
  return constrain(y, ("batch", "seq", "act_embed"))


def causal_attention(p: dict[str, Any], x: jax.Array, positions: jax.Array, mask: jax.Array,
                     inv_freq: np.ndarray, config: LlamaConfig) -> jax.Array:
  """Self-attention over the sequence itself; mask bool [B, T, T], causal by index (no query
  attends to a later row), which lets config.attention_query_block skip the masked-out keys."""
  q, k, v = _project_qkv(p, x, positions, inv_freq, config)
  k_t, v = k.transpose(0, 2, 3, 1), v.transpose(0, 2, 1, 3)       # the cache's layout, once
  T, block = x.shape[1], config.attention_query_block
  if not block or block >= T:
    return _output(p, _attend(q, k_t, v, mask), config)
  outs = []
  for start in range(0, T, block):
    end = min(start + block, T)
    outs.append(_attend(q[:, start:end], k_t[..., :end], v[:, :, :end], mask[:, start:end, :end]))
  return _output(p, jnp.concatenate(outs, axis=1), config)


def cached_attention(p: dict[str, Any], x: jax.Array, positions: jax.Array, mask: jax.Array,
                     write_idx: jax.Array, k_cache: jax.Array, v_cache: jax.Array,
                     inv_freq: np.ndarray, config: LlamaConfig):
  """Writes this layer's new K/V at write_idx [B, T] (index S = dropped), attends over the cache.

  k_cache [B, K, Dh, S], v_cache [B, K, S, Dh] (kv_cache.py's layout): the layer's own buffers,
  updated in place (donated), so a decode step never copies the cache; mask bool [B, T, S].
  """
  q, k, v = _project_qkv(p, x, positions, inv_freq, config)
  batch_idx = jnp.arange(x.shape[0])[:, None]
  # Advanced indices on the batch and position axes: the updates are [B, T, K, Dh] either way.
  k_cache = k_cache.at[batch_idx, :, :, write_idx].set(k.astype(k_cache.dtype), mode="drop")
  v_cache = v_cache.at[batch_idx, :, write_idx].set(v.astype(v_cache.dtype), mode="drop")
  k_cache = constrain(k_cache, K_CACHE_LOGICAL_AXES)
  v_cache = constrain(v_cache, V_CACHE_LOGICAL_AXES)
  out = _attend(q, k_cache.astype(q.dtype), v_cache.astype(q.dtype), mask)
  return _output(p, out, config), k_cache, v_cache


def mlp(p: dict[str, Any], x: jax.Array, config: LlamaConfig) -> jax.Array:
  """SwiGLU: down(silu(gate(x)) * up(x))."""
  dt = config.activation_dtype
  gate = jnp.einsum("btd,df->btf", x, p["gate_proj"].astype(dt))
  up = jnp.einsum("btd,df->btf", x, p["up_proj"].astype(dt))
  h = constrain(jax.nn.silu(gate) * up, ("batch", "seq", "act_mlp"))
  return constrain(jnp.einsum("btf,fd->btd", h, p["down_proj"].astype(dt)),
                   ("batch", "seq", "act_embed"))
