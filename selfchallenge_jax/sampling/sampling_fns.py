"""Token selection from logits: greedy, temperature, top-k, exact top-p, with raw logprobs.

Top-p (nucleus) sampling without sorting and without searching for the nucleus threshold:
rejection sampling. A token drawn from the full (temperature, top-k) distribution is in the nucleus
iff the mass of the tokens strictly more likely than it is < top_p (one masked sum over the row),
and a draw conditioned on landing in the nucleus is exactly a draw from the renormalized nucleus.
With top_p = 0.95 a row is accepted in about 1.05 draws, so a decode step costs a few passes over
the [B, V] weights instead of the 30+ of a threshold bisection (on XLA:CPU each pass over the row
costs about as much as the model's LM head at small batch). Rows still rejected after
`_REJECTION_ROUNDS` draws (only likely for small top_p) fall back to the exact threshold (a
bisection over the float bit patterns) and one draw from the masked distribution.

Draws use the inverse CDF in two levels (chunks of `_CHUNK` vocabulary entries, then one chunk),
so no cumulative sum over the whole vocabulary is materialized. Per-slot randomness comes from a
per-slot key folded with the decode step, so a slot's draws do not depend on which other slots
share its batch, nor on how the batch is sharded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

_NEG_INF = -1e30
_CHUNK = 128
_REJECTION_ROUNDS = 16
_THRESHOLD_BISECTION_STEPS = 31   # int32 bit patterns of non-negative float32 lie in [0, 2^31)


def _to_chunks(weights: jax.Array) -> jax.Array:
  """[B, V] -> [B, ceil(V / _CHUNK), _CHUNK], zero-padded (zero weight is never drawn)."""
  B, V = weights.shape
  pad = -V % _CHUNK
  if pad:
    weights = jnp.pad(weights, ((0, 0), (0, pad)))
  return weights.reshape(B, -1, _CHUNK)


def _first_above(cdf: jax.Array, target: jax.Array, widths: jax.Array) -> jax.Array:
  """Per row, the first index with cdf > target, always one of positive width.

  cdf [B, N] (inclusive cumulative sums of widths [B, N] >= 0), target [B] in [0, total).
  Rounding can only push the answer past the end or onto a zero-width entry; the widest entry is
  used instead.
  """
  idx = jnp.sum(cdf <= target[:, None], axis=-1)
  idx = jnp.minimum(idx, cdf.shape[-1] - 1)
  width = jnp.take_along_axis(widths, idx[:, None], axis=-1)[:, 0]
  return jnp.where(width > 0, idx, jnp.argmax(widths, axis=-1)).astype(jnp.int32)


def draw_from_chunks(chunks: jax.Array, chunk_mass: jax.Array, u: jax.Array) -> jax.Array:
  """Inverse-CDF draw of one vocabulary index per row with probability chunks / total.

  chunks [B, N, C] non-negative weights, chunk_mass [B, N] their sums, u [B] uniform in [0, 1).
  Zero-weight entries are never returned.
  """
  chunk_cdf = jnp.cumsum(chunk_mass, axis=-1)
  target = u * chunk_cdf[:, -1]
  c = _first_above(chunk_cdf, target, chunk_mass)
  prev = jnp.take_along_axis(chunk_cdf, jnp.maximum(c - 1, 0)[:, None], axis=-1)[:, 0]
  before = jnp.where(c > 0, prev, 0.0)
  local = jnp.take_along_axis(chunks, c[:, None, None], axis=1)[:, 0]          # [B, C]
  j = _first_above(jnp.cumsum(local, axis=-1), target - before, local)
  return c * chunks.shape[-1] + j


def mass_above(chunks: jax.Array, tokens: jax.Array) -> jax.Array:
  """Per row, the total weight of entries strictly heavier than the token's (one pass)."""
  B = chunks.shape[0]
  flat = chunks.reshape(B, -1)
  w = jnp.take_along_axis(flat, tokens[:, None], axis=-1)                       # [B, 1]
  return jnp.sum(jnp.where(chunks > w[:, :, None], chunks, 0.0), axis=(1, 2))


def top_p_threshold(weights: jax.Array, target: jax.Array) -> jax.Array:
  """Per row, the largest weight tau with sum(w[w >= tau]) >= target (exact; no sort).

  Keeping w >= tau is the nucleus: the smallest set of most likely entries whose mass reaches the
  target (ties at the boundary kept). A bisection over the int32 bit patterns of the non-negative
  float weights (ordered like the floats), so it ends on an exact weight value.
  weights [..., V] >= 0, target [...] (top_p * total mass) -> tau [...].
  """
  bits = jax.lax.bitcast_convert_type(weights, jnp.int32)
  lo = jnp.zeros(target.shape, jnp.int32)                          # mass(w >= 0) = total >= target
  hi = jnp.max(bits, axis=tuple(range(target.ndim, bits.ndim))) + 1   # mass(w >= hi) = 0 < target
  red = tuple(range(target.ndim, bits.ndim))
  expand = (...,) + (None,) * len(red)

  def body(_, bounds):
    lo, hi = bounds
    mid = lo + (hi - lo) // 2
    mass = jnp.sum(jnp.where(bits >= mid[expand], weights, 0.0), axis=red)
    ok = mass >= target
    return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

  lo, _ = jax.lax.fori_loop(0, _THRESHOLD_BISECTION_STEPS, body, (lo, hi))
  return jax.lax.bitcast_convert_type(lo, weights.dtype)


def _nucleus_draw(chunks: jax.Array, chunk_mass: jax.Array, total: jax.Array, top_p: jax.Array,
                  uniforms: jax.Array, check: jax.Array, rounds: int) -> jax.Array:
  """Rejection sampling of the nucleus; rows with check False keep their first (unrestricted) draw.

  uniforms [B, rounds + 1]: draw r uses column r, the exact fallback column `rounds`.
  """
  target = top_p * total

  def draw(r):
    return draw_from_chunks(chunks, chunk_mass, uniforms[:, r])

  def accepted(tokens):
    return ~check | (mass_above(chunks, tokens) < target)

  tokens = draw(0)             # with rounds = 0 only rows without a check keep it
  if rounds == 0:
    ok = ~check
  else:
    ok = jax.lax.cond(jnp.any(check), accepted, lambda t: jnp.ones(t.shape, bool), tokens)

  def cond(carry):
    r, _, ok = carry
    return (r < rounds) & ~jnp.all(ok)

  def body(carry):
    r, tokens, ok = carry
    new = draw(r)
    return r + 1, jnp.where(ok, tokens, new), ok | accepted(new)

  _, tokens, ok = jax.lax.while_loop(cond, body, (jnp.int32(1), tokens, ok))

  def fallback(tokens):
    tau = top_p_threshold(chunks, target)
    masked = jnp.where(chunks >= tau[:, None, None], chunks, 0.0)
    exact = draw_from_chunks(masked, jnp.sum(masked, axis=-1), uniforms[:, rounds])
    return jnp.where(ok, tokens, exact)

  return jax.lax.cond(jnp.all(ok), lambda t: t, fallback, tokens)


def sample_tokens(logits: jax.Array, keys: jax.Array, temperature: jax.Array, top_p: jax.Array,
                  top_k: int = 0, rejection_rounds: int = _REJECTION_ROUNDS
                  ) -> tuple[jax.Array, jax.Array]:
  """Draws one token per row.

  logits [B, V] float32; keys [B] typed PRNG keys; temperature [B] (0 = greedy); top_p [B]
  (1 = off); top_k: static, 0 = off; rejection_rounds: static, nucleus draws per row before the
  exact fallback. Returns (tokens int32 [B], logprobs [B]) where the logprob is the raw model's
  log_softmax(logits) at the token (what the policy-gradient ratio needs), not the truncated
  sampling distribution's.
  """
  logits = logits.astype(jnp.float32)
  B = logits.shape[0]
  sampling = temperature > 0
  greedy = jax.lax.cond(jnp.all(sampling), lambda x: jnp.zeros((B,), jnp.int32),
                        lambda x: jnp.argmax(x, axis=-1).astype(jnp.int32), logits)

  def draw():
    scaled = logits / jnp.maximum(temperature, 1e-6)[:, None]
    if top_k:
      kth = jax.lax.top_k(scaled, top_k)[0][:, -1]
      scaled = jnp.where(scaled >= kth[:, None], scaled, _NEG_INF)
    shift = jnp.max(scaled, axis=-1)
    chunks = _to_chunks(jnp.exp(scaled - shift[:, None]))     # unnormalized probabilities, max 1
    chunk_mass = jnp.sum(chunks, axis=-1)
    total = jnp.sum(chunk_mass, axis=-1)
    uniforms = jax.vmap(lambda k: jax.random.uniform(k, (rejection_rounds + 1,)))(keys)
    tokens = _nucleus_draw(chunks, chunk_mass, total, top_p, uniforms, sampling & (top_p < 1.0),
                           rejection_rounds)
    return tokens, shift + jnp.log(total)

  sampled, scaled_lse = jax.lax.cond(jnp.any(sampling), draw,
                                     lambda: (jnp.zeros((B,), jnp.int32), jnp.zeros((B,))))
  tokens = jnp.where(sampling, sampled, greedy)
  # Raw log-softmax normalizer; at temperature 1 without top-k the scaled row is the raw row.
  reuse = jnp.all(temperature == 1.0) if not top_k else jnp.bool_(False)
  raw_lse = jax.lax.cond(reuse, lambda x: scaled_lse, lambda x: jax.nn.logsumexp(x, axis=-1),
                         logits)
  logprobs = jnp.take_along_axis(logits, tokens[:, None], axis=-1)[:, 0] - raw_lse
  return tokens, logprobs
