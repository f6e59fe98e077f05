"""Per-token log-probabilities of given tokens under the policy: the quantity every loss here uses.

The LM head (a d_model x vocab matmul and a log-softmax per position) is most of a small model's
cost, and RL losses read only the positions the policy sampled (often a small part of a multi-turn
conversation). `logit_positions` restricts the head to those positions.
"""

from __future__ import annotations

import jax
import numpy as np
import jax.numpy as jnp

from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig


def _logprobs_and_entropy(logits: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
  logz = jax.nn.logsumexp(logits, axis=-1)
  target = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
  probs = jnp.exp(logits - logz[..., None])
  entropy = logz - jnp.sum(probs * logits, axis=-1)
  return target - logz, entropy


def token_logprobs(params: llama.Params, tokens: jax.Array, positions: jax.Array,
                   attention_mask: jax.Array, config: LlamaConfig,
                   logit_positions: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
  """log p(tokens[:, t+1] | tokens[:, :t+1]) for t < T-1.

  tokens, positions: int [B, T]; attention_mask: bool [B, T].
  logit_positions: optional int [B, K], the t whose values are needed, -1 = padding. Then the LM
  head runs on those K positions only, and every other entry of the outputs is 0.
  Returns (logprobs [B, T-1] float32, entropy [B, T-1] float32), aligned with tokens[:, 1:].
  """
  if logit_positions is None:
    logits = llama.forward(params, tokens, positions, attention_mask, config)[:, :-1]
    return _logprobs_and_entropy(logits, tokens[:, 1:])
  B, T = tokens.shape
  hidden = llama.hidden_states(params, tokens, positions, attention_mask, config)
  valid = logit_positions >= 0
  index = jnp.where(valid, logit_positions, 0)
  picked = jnp.take_along_axis(hidden, index[..., None], axis=1)               # [B, K, D]
  targets = jnp.take_along_axis(tokens, index + 1, axis=1)                     # [B, K]
  logprobs, entropy = _logprobs_and_entropy(llama.lm_head_logits(params, picked, config), targets)
  rows = jnp.arange(B)[:, None]
  scatter = jnp.where(valid, index, T - 1)           # out of range for [B, T-1]: dropped

  def place(x):
    return jnp.zeros((B, T - 1), x.dtype).at[rows, scatter].set(x, mode="drop")
  return place(logprobs), place(entropy)


def logit_positions_from_mask(loss_mask, width: int):
  """Host side: [B, width] int32 of the t where loss_mask [B, T-1] > 0, padded with -1."""
  loss_mask = np.asarray(loss_mask)
  out = np.full((loss_mask.shape[0], width), -1, np.int32)
  for b, row in enumerate(loss_mask):
    where = np.flatnonzero(row > 0)
    if len(where) > width:
      raise ValueError(f"row {b} has {len(where)} policy tokens, more than the {width} logit "
                       "positions of the batch")
    out[b, :len(where)] = where
  return out
