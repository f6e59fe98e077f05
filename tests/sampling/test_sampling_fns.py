"""Token selection: exact top-p vs a sort-based NumPy reference, draw distributions, logprobs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from selfchallenge_jax.sampling import sampling_fns


def _reference_nucleus(w: np.ndarray, top_p: float) -> np.ndarray:
  """The smallest set of heaviest entries whose mass reaches top_p (ties at the boundary kept)."""
  desc = np.sort(w.astype(np.float64))[::-1]
  k = int(np.argmax(np.cumsum(desc) >= top_p * desc.sum()))
  return w >= desc[k]


def _rows(kind: str, rng: np.random.Generator, V: int = 1000, B: int = 6) -> np.ndarray:
  """Unnormalized probabilities (max 1) of logits of a given shape of distribution."""
  if kind == "near_uniform":        # like the random-init benchmark model: ~90% of V in the nucleus
    logits = rng.normal(0, 0.45, (B, V))
  elif kind == "peaked":            # a trained model: a few tokens hold most of the mass
    logits = rng.normal(0, 4.0, (B, V))
    logits[:, rng.integers(0, V, B)] += 8.0
  elif kind == "ties":              # many exactly equal probabilities, also at the boundary
    logits = np.round(rng.normal(0, 1.5, (B, V)))
  else:                             # zipf-like tail
    logits = -1.1 * np.log(np.argsort(rng.random((B, V)), axis=-1) + 1.0)
  logits = logits.astype(np.float32)
  return np.exp(logits - logits.max(-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["near_uniform", "peaked", "ties", "zipf"])
def test_threshold_and_membership_equal_sorted_reference(kind):
  rng = np.random.default_rng(len(kind))
  w = _rows(kind, rng, V=1000)                       # 1000 = 7 full chunks + a padded one
  chunks = sampling_fns._to_chunks(jnp.asarray(w))
  total = jnp.sum(chunks, axis=(1, 2))
  threshold = jax.jit(sampling_fns.top_p_threshold)
  above = np.asarray(jax.jit(jax.vmap(sampling_fns.mass_above, (None, 0), 1))(
      chunks, jnp.broadcast_to(jnp.arange(w.shape[1])[:, None], (w.shape[1], w.shape[0]))))
  for top_p in (0.1, 0.5, 0.9, 0.95, 0.99):
    tau = np.asarray(threshold(chunks, top_p * total))
    for b in range(w.shape[0]):
      expected = _reference_nucleus(w[b], top_p)
      np.testing.assert_array_equal(w[b] >= tau[b], expected, err_msg=f"{kind} {top_p} row {b}")
      # The rejection test: a token is in the nucleus iff the strictly heavier mass < top_p.
      np.testing.assert_array_equal(above[b] < top_p * float(total[b]), expected)


def test_draw_returns_only_positive_weight_entries_at_the_cdf_edges():
  w = np.zeros((4, 300), np.float32)                 # 300: the last chunk is padded
  w[0, [5, 299]] = [1.0, 3.0]
  w[1, 130] = 1.0
  w[2, :] = 1.0
  w[3, [0, 128, 256]] = [1e-30, 1.0, 1e-30]
  chunks = sampling_fns._to_chunks(jnp.asarray(w))
  draw = jax.jit(sampling_fns.draw_from_chunks)
  for u in (0.0, 0.25, 0.5, 1.0 - 2.0 ** -24):
    tokens = np.asarray(draw(chunks, jnp.sum(chunks, -1), jnp.full((4,), u, jnp.float32)))
    assert all(w[b, t] > 0 for b, t in enumerate(tokens)), (u, tokens)
  assert list(np.asarray(draw(chunks, jnp.sum(chunks, -1), jnp.zeros((4,))))) == [5, 130, 0, 0]


@pytest.mark.parametrize("top_p,rounds,top_k", [(0.8, 16, 0), (0.5, 0, 0), (0.9, 16, 12)])
def test_draws_follow_the_truncated_distribution(top_p, rounds, top_k):
  """Frequencies over 40k draws match the renormalized nucleus; nothing outside it is drawn.

  rounds=0 forces the exact-threshold fallback for every row instead of rejection sampling.
  """
  V, N, temperature = 40, 40_000, 0.7
  rng = np.random.default_rng(1)
  logits = rng.normal(0, 1.0, (V,)).astype(np.float32)
  scaled = logits / temperature
  if top_k:
    scaled = np.where(scaled >= np.sort(scaled)[-top_k], scaled, -np.inf)
  p = np.exp(scaled - scaled.max())
  p /= p.sum()
  keep = _reference_nucleus(p, top_p)
  q = np.where(keep, p, 0.0) / p[keep].sum()
  sample = jax.jit(lambda keys: sampling_fns.sample_tokens(
      jnp.broadcast_to(logits, (N, V)), keys, jnp.full((N,), temperature), jnp.full((N,), top_p),
      top_k=top_k, rejection_rounds=rounds))
  tokens, logprobs = sample(jax.random.split(jax.random.key(0), N))
  tokens = np.asarray(tokens)
  freq = np.bincount(tokens, minlength=V) / N
  assert freq[~keep].sum() == 0
  assert 1 < keep.sum() < V
  np.testing.assert_array_less(np.abs(freq - q), 5 * np.sqrt(q * (1 - q) / N) + 1e-9)
  raw = np.asarray(jax.nn.log_softmax(logits))       # raw logprobs, not the truncated ones
  np.testing.assert_allclose(np.asarray(logprobs), raw[tokens], atol=1e-5)


def test_greedy_rows_argmax_and_rows_independent_of_their_batch():
  rng = np.random.default_rng(2)
  logits = jnp.asarray(rng.normal(0, 0.5, (5, 3000)).astype(np.float32))
  keys = jax.random.split(jax.random.key(3), 5)
  temperature = jnp.asarray([0.0, 1.0, 1.0, 0.0, 1.0])
  top_p = jnp.asarray([0.9, 0.95, 1.0, 1.0, 0.3])
  sample = jax.jit(sampling_fns.sample_tokens)
  tokens, logprobs = map(np.asarray, sample(logits, keys, temperature, top_p))
  np.testing.assert_array_equal(tokens[[0, 3]], np.argmax(np.asarray(logits)[[0, 3]], -1))
  raw = np.asarray(jax.nn.log_softmax(logits))
  np.testing.assert_allclose(logprobs, raw[np.arange(5), tokens], atol=1e-5)
  # A row's token depends on its own logits and key only (not on how long other rows rejected).
  perm = np.asarray([4, 2, 1])
  sub_tokens, _ = sample(logits[perm], keys[perm], temperature[perm], top_p[perm])
  np.testing.assert_array_equal(np.asarray(sub_tokens), tokens[perm])
