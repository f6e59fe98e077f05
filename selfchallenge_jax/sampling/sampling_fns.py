"""Token selection from logits: greedy, temperature, top-k, top-p (sort-free), with raw logprobs.

Per-slot randomness comes from a per-slot key folded with the decode step, so a slot's draws do not
depend on which other slots share its batch, nor on how the batch is sharded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_NEG_INF = -1e30
_TOP_P_BISECTION_STEPS = 32


def top_p_threshold(probs: jax.Array, top_p: jax.Array) -> jax.Array:
  """Per row, the largest probability tau with sum(p[p >= tau]) >= top_p.

  Keeping p >= tau is the nucleus (the smallest set of most likely tokens whose mass reaches top_p)
  without sorting the vocabulary: a bisection on tau, each step one masked sum over the row.
  probs [B, V] float32, top_p [B] -> tau [B].
  """
  lo = jnp.zeros(probs.shape[:-1], probs.dtype)                 # mass(p >= lo) = 1 >= top_p
  hi = jnp.max(probs, axis=-1) * (1 + 1e-6) + 1e-30              # mass(p >= hi) = 0 < top_p

  def body(_, bounds):
    lo, hi = bounds
    mid = 0.5 * (lo + hi)
    mass = jnp.sum(jnp.where(probs >= mid[:, None], probs, 0.0), axis=-1)
    ok = mass >= top_p
    return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

  lo, _ = jax.lax.fori_loop(0, _TOP_P_BISECTION_STEPS, body, (lo, hi))
  return lo


def sample_tokens(logits: jax.Array, keys: jax.Array, temperature: jax.Array, top_p: jax.Array,
                  top_k: int = 0) -> tuple[jax.Array, jax.Array]:
  """Draws one token per row.

  logits [B, V] float32; keys [B] typed PRNG keys; temperature [B] (0 = greedy); top_p [B] (1 = off);
  top_k: static, 0 = off. Returns (tokens int32 [B], logprobs [B]) where the logprob is the raw
  model's log_softmax(logits) at the token (what the policy-gradient ratio needs), not the
  truncated sampling distribution's.
  """
  logits = logits.astype(jnp.float32)
  raw_logprobs = jax.nn.log_softmax(logits, axis=-1)
  greedy = jnp.argmax(logits, axis=-1).astype(jnp.int32)

  scaled = logits / jnp.maximum(temperature, 1e-6)[:, None]
  if top_k:
    kth = jax.lax.top_k(scaled, top_k)[0][:, -1]
    scaled = jnp.where(scaled >= kth[:, None], scaled, _NEG_INF)
  probs = jax.nn.softmax(scaled, axis=-1)
  tau = top_p_threshold(probs, top_p)
  use_top_p = top_p < 1.0
  keep = (probs >= tau[:, None]) | ~use_top_p[:, None]
  # Inverse-CDF sampling: one uniform per row instead of a Gumbel draw per vocabulary entry (the
  # random bits for [B, V] cost more than the rest of sampling on CPU). Masked tokens have zero
  # width in the CDF, so they are never drawn.
  probs = jnp.where(keep, probs, 0.0)
  cdf = jnp.cumsum(probs, axis=-1)
  u = jax.vmap(jax.random.uniform)(keys) * cdf[:, -1]
  sampled = jnp.minimum(jnp.sum(cdf <= u[:, None], axis=-1), logits.shape[-1] - 1)
  # Guard the edge where rounding lands u on a zero-width (masked) entry: fall back to the argmax.
  sampled = jnp.where(jnp.take_along_axis(probs, sampled[:, None], -1)[:, 0] > 0, sampled,
                      jnp.argmax(probs, axis=-1)).astype(jnp.int32)

  tokens = jnp.where(temperature > 0, sampled, greedy)
  logprobs = jnp.take_along_axis(raw_logprobs, tokens[:, None], axis=-1)[:, 0]
  return tokens, logprobs
