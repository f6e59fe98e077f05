"""Llama as pure functions of a params pytree: init, training forward, cached forward.

Params pytree (leaf paths are stable names: the HF key map, the sharding rules and orbax key on them;
per-layer weights are stacked on a leading `layers` axis and run under lax.scan):

  embed/embedding              [V, D]
  layers/attn_norm/scale       [L, D]
  layers/attn/q_proj           [L, D, H, Dh]
  layers/attn/k_proj           [L, D, K, Dh]
  layers/attn/v_proj           [L, D, K, Dh]
  layers/attn/o_proj           [L, H, Dh, D]
  layers/mlp_norm/scale        [L, D]
  layers/mlp/gate_proj         [L, D, F]
  layers/mlp/up_proj           [L, D, F]
  layers/mlp/down_proj         [L, F, D]
  final_norm/scale             [D]
  lm_head/kernel               [D, V]   (absent when tie_embeddings)

The sampling layout (`unstack_layers`, what forward_cached takes) is the same tree with `layers` a
list of L per-layer dicts of separate arrays: the cached forward runs its layers unrolled, and a
slice of a stacked weight would be a copy of that weight at every decode step.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from selfchallenge_jax.model import layers
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.kv_cache import KVCache
from selfchallenge_jax.model.rope import inverse_frequencies
from selfchallenge_jax.sharding.rules import constrain

Params = dict[str, Any]


def param_shapes(config: LlamaConfig) -> dict[str, Any]:
  """Pytree of (shape, logical axes) per parameter: the single source of the params layout."""
  L, D, V, F = config.num_layers, config.d_model, config.vocab_size, config.mlp_dim
  H, K, Dh = config.num_heads, config.num_kv_heads, config.resolved_head_dim
  tree = {
      "embed": {"embedding": ((V, D), ("vocab", "embed"))},
      "layers": {
          "attn_norm": {"scale": ((L, D), ("layers", "norm"))},
          "attn": {
              "q_proj": ((L, D, H, Dh), ("layers", "embed", "heads", "head_dim")),
              "k_proj": ((L, D, K, Dh), ("layers", "embed", "kv_heads", "head_dim")),
              "v_proj": ((L, D, K, Dh), ("layers", "embed", "kv_heads", "head_dim")),
              "o_proj": ((L, H, Dh, D), ("layers", "heads", "head_dim", "embed")),
          },
          "mlp_norm": {"scale": ((L, D), ("layers", "norm"))},
          "mlp": {
              "gate_proj": ((L, D, F), ("layers", "embed", "mlp")),
              "up_proj": ((L, D, F), ("layers", "embed", "mlp")),
              "down_proj": ((L, F, D), ("layers", "mlp", "embed")),
          },
      },
      "final_norm": {"scale": ((D,), ("norm",))},
  }
  if not config.tie_embeddings:
    tree["lm_head"] = {"kernel": ((D, V), ("embed", "vocab"))}
  return tree


def _is_spec(x: Any) -> bool:
  return isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], tuple)


def param_logical_axes(config: LlamaConfig) -> dict[str, Any]:
  return jax.tree.map(lambda s: s[1], param_shapes(config), is_leaf=_is_spec)


def abstract_params(config: LlamaConfig) -> dict[str, Any]:
  """ShapeDtypeStructs of the params (no memory), e.g. for orbax restore or AOT compilation."""
  dtype = config.params_dtype
  return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s[0], dtype), param_shapes(config),
                      is_leaf=_is_spec)


def sampling_param_logical_axes(config: LlamaConfig) -> dict[str, Any]:
  """Logical axes of the sampling layout (unstack_layers): per layer, without the `layers` axis."""
  axes = param_logical_axes(config)
  layer = jax.tree.map(lambda a: a[1:], axes["layers"], is_leaf=lambda a: isinstance(a, tuple))
  return {**axes, "layers": [layer] * config.num_layers}


def abstract_sampling_params(config: LlamaConfig) -> dict[str, Any]:
  return jax.eval_shape(unstack_layers, abstract_params(config))


def unstack_layers(params: Params) -> Params:
  """Training layout (stacked `layers`) -> sampling layout (a list of per-layer dicts)."""
  stacked = params["layers"]
  if isinstance(stacked, list):
    raise ValueError("params are already in the sampling layout (layers unstacked)")
  num_layers = jax.tree.leaves(stacked)[0].shape[0]
  return {**params, "layers": [jax.tree.map(lambda a, l=l: a[l], stacked)
                               for l in range(num_layers)]}


def init_params(config: LlamaConfig, key: jax.Array, std: float = 0.02) -> Params:
  """Random init (normal(std) weights as HF's initializer_range, unit norm scales)."""
  specs = param_shapes(config)
  leaves, treedef = jax.tree.flatten(specs, is_leaf=_is_spec)
  keys = jax.random.split(key, len(leaves))
  paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(specs, is_leaf=_is_spec)[0]]
  out = []
  for path, (shape, _), k in zip(paths, leaves, keys):
    name = jax.tree_util.keystr(path)
    if "scale" in name:
      out.append(jnp.ones(shape, config.params_dtype))
    else:
      out.append((std * jax.random.normal(k, shape, jnp.float32)).astype(config.params_dtype))
  return jax.tree.unflatten(treedef, out)


def _embedding_table(params: Params, config: LlamaConfig) -> jax.Array:
  table = params["embed"]["embedding"]
  return jax.lax.stop_gradient(table) if config.frozen_layers else table


def _embed(params: Params, tokens: jax.Array, config: LlamaConfig) -> jax.Array:
  x = jnp.take(_embedding_table(params, config), tokens, axis=0).astype(config.activation_dtype)
  return constrain(x, ("batch", "seq", "act_embed"))


def _lm_head(params: Params, x: jax.Array, config: LlamaConfig) -> jax.Array:
  x = layers.rms_norm(x, params["final_norm"]["scale"], config.norm_eps)
  if config.tie_embeddings:
    kernel = _embedding_table(params, config).astype(config.activation_dtype).T
  else:
    kernel = params["lm_head"]["kernel"].astype(config.activation_dtype)
  logits = jnp.einsum("btd,dv->btv", x, kernel, preferred_element_type=jnp.float32)
  return constrain(logits, ("batch", "seq", "act_vocab"))


def hidden_states(params: Params, tokens: jax.Array, positions: jax.Array,
                  attention_mask: jax.Array, config: LlamaConfig) -> jax.Array:
  """Final-layer hidden states [B, T, D] (before the final norm).

  tokens, positions: int [B, T]; attention_mask: bool [B, T], True for real tokens (left or right
  padding both work: a query attends to keys that are real and not after it in the sequence).
  """
  inv_freq = inverse_frequencies(config)
  T = tokens.shape[1]
  causal = jnp.tril(jnp.ones((T, T), dtype=bool))
  mask = causal[None] & attention_mask[:, None, :].astype(bool)            # [B, T(q), T(k)]

  def block(x, layer):
    normed = layers.rms_norm(x, layer["attn_norm"]["scale"], config.norm_eps)
    x = x + layers.causal_attention(layer["attn"], normed, positions, mask, inv_freq, config)
    x = x + layers.mlp(layer["mlp"], layers.rms_norm(x, layer["mlp_norm"]["scale"], config.norm_eps),
                       config)
    return constrain(x, ("batch", "seq", "act_embed")), None

  if config.remat:
    block = jax.checkpoint(block, policy=config.remat_policy_fn)

  def run(x, stacked):
    return jax.lax.scan(block, x, stacked, unroll=config.layer_loop_unroll)[0]

  x = _embed(params, tokens, config)
  n = config.frozen_layers
  if not n:
    return run(x, params["layers"])
  # Two scans: the frozen bottom has no differentiable input, so autodiff leaves it out entirely.
  bottom = jax.tree.map(lambda a: jax.lax.stop_gradient(a[:n]), params["layers"])
  x = jax.lax.stop_gradient(run(x, bottom))
  return run(x, jax.tree.map(lambda a: a[n:], params["layers"]))


def forward(params: Params, tokens: jax.Array, positions: jax.Array, attention_mask: jax.Array,
            config: LlamaConfig) -> jax.Array:
  """Training forward: float32 logits [B, T, V] for the full sequence."""
  return _lm_head(params, hidden_states(params, tokens, positions, attention_mask, config), config)


def lm_head_logits(params: Params, hidden: jax.Array, config: LlamaConfig) -> jax.Array:
  """Logits [B, T, V] from hidden states, for losses that chunk the sequence."""
  return _lm_head(params, hidden, config)


def forward_cached(params: Params, tokens: jax.Array, positions: jax.Array, num_new: jax.Array,
                   cache: KVCache, config: LlamaConfig,
                   logits_at: jax.Array | None = None) -> tuple[jax.Array, KVCache]:
  """Cached forward for prefill, extend-prefill and decode; params in the sampling layout.

  tokens, positions: int [B, T], the next T tokens of each slot; num_new: int [B], how many of them
  are real (the rest is padding and is neither written to the cache nor counted). Their K/V are
  written at cache.lengths[b] + t, and query t attends to cache keys j <= cache.lengths[b] + t.
  Returns float32 logits [B, T, V] (or [B, V] at chunk index logits_at [B] when given: a prefill
  needs only the last real position, and the LM head is the largest matmul) and the cache with
  lengths += num_new.
  """
  if not isinstance(params["layers"], list):
    raise ValueError("forward_cached takes sampling-layout params: pass llama.unstack_layers(params)")
  inv_freq = inverse_frequencies(config)
  B, T = tokens.shape
  S = cache.max_len
  start = cache.lengths                                                         # [B]
  t = jnp.arange(T)
  write_idx = jnp.where(t[None, :] < num_new[:, None], start[:, None] + t[None, :], S)   # S = drop
  key_pos = jnp.arange(S)
  mask = key_pos[None, None, :] <= (start[:, None] + t[None, :])[:, :, None]   # [B, T, S]

  # The layers unrolled over per-layer cache buffers (kv_cache.py): each layer's K/V are updated in
  # place and read by the attention dots directly, with no per-step copy of the cache.
  x = _embed(params, tokens, config)
  k, v = list(cache.k), list(cache.v)
  for l, layer in enumerate(params["layers"]):
    h = layers.rms_norm(x, layer["attn_norm"]["scale"], config.norm_eps)
    attn_out, k[l], v[l] = layers.cached_attention(layer["attn"], h, positions, mask, write_idx,
                                                   k[l], v[l], inv_freq, config)
    x = x + attn_out
    x = x + layers.mlp(layer["mlp"], layers.rms_norm(x, layer["mlp_norm"]["scale"], config.norm_eps),
                       config)
    x = constrain(x, ("batch", "seq", "act_embed"))
  new_cache = KVCache(k=k, v=v, lengths=start + num_new.astype(start.dtype))
  if logits_at is not None:
    x = jnp.take_along_axis(x, logits_at[:, None, None].astype(jnp.int32), axis=1)
    return _lm_head(params, x, config)[:, 0], new_cache
  return _lm_head(params, x, config), new_cache
