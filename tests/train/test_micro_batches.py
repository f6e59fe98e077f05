"""Micro-batched updates (train/micro_batches.py) equal the full-batch update: the same loss, the
same gradients and the same next params, for every loss aggregation, with and without a KL term,
while rows without a gradient are never computed and each micro-batch has its own length."""

import dataclasses

import jax
import numpy as np
import optax
import pytest

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.rl.algorithms import make_algorithm
from selfchallenge_jax.rl.grpo import RolloutBatch, loss_weights
from selfchallenge_jax.sharding.mesh import make_mesh
from selfchallenge_jax.train.micro_batches import combine_metrics, split_micro_batches
from selfchallenge_jax.train.update_step import UpdatePrograms

from tiny_llama import tiny_llama

G, GROUPS, T = 4, 3, 40


@pytest.fixture(scope="module")
def tiny():
  return tiny_llama(num_layers=2)


def _batch(advantages, seed=0) -> RolloutBatch:
  """Three groups of four rows; row lengths 12-40 (right padded), prompts then policy tokens."""
  rng = np.random.default_rng(seed)
  B = G * GROUPS
  tokens = rng.integers(3, 64, (B, T)).astype(np.int32)
  lengths = rng.integers(12, T + 1, B)
  lengths[:G] = np.minimum(lengths[:G], 20)            # group 0 is short: its own length bucket
  attention = np.arange(T)[None] < lengths[:, None]
  loss_mask = np.zeros((B, T - 1), np.float32)
  for b, n in enumerate(lengths):
    loss_mask[b, 6:n - 1] = 1.0
  loss_mask[5] = 0.0                                   # a rollout cut before its first reply
  return RolloutBatch(
      tokens=tokens, positions=np.broadcast_to(np.arange(T, dtype=np.int32), (B, T)).copy(),
      attention_mask=attention, loss_mask=loss_mask,
      old_logprobs=rng.normal(-4.2, 0.3, (B, T - 1)).astype(np.float32),
      ref_logprobs=rng.normal(-4.2, 0.3, (B, T - 1)).astype(np.float32),
      advantages=np.asarray(advantages, np.float32))


# Group 1 has all-equal rewards: advantage 0 on every row.
ADVANTAGES = [1.0, -1.0, 0.5, -0.5] + [0.0] * G + [0.9, -0.3, -0.3, -0.3]


@pytest.mark.parametrize("name,overrides", [
    ("grpo", dict(kl_beta=0.0, loss_agg="token_mean")),
    ("grpo", dict(kl_beta=0.0, loss_agg="seq_mean_token_mean")),
    ("grpo", dict(kl_beta=0.3, loss_agg="seq_mean_token_mean")),
    ("rft", {}),
])
def test_micro_update_equals_full_update(tiny, name, overrides):
  config, params = tiny
  algorithm = make_algorithm(name, **overrides)
  # Plain SGD: the step is the gradient itself (Adam's first step, g / |g|, would magnify the
  # float noise of near-zero gradient entries).
  optimizer = optax.sgd(1.0)
  programs = UpdatePrograms(config, optimizer, algorithm, make_mesh((1, -1, 1)))
  batch = _batch(ADVANTAGES if name != "rft" else [1.0, 0, 0, 1.0] * GROUPS)
  if name == "rft":        # rft trains on successful rollouts only: the others are not kept
    keep = np.asarray(batch.advantages) > 0
    batch = dataclasses.replace(batch, loss_mask=batch.loss_mask * keep[:, None])
  if not algorithm.needs_ref_logprobs:
    batch = dataclasses.replace(batch, ref_logprobs=None)
  if not algorithm.needs_old_logprobs:
    batch = dataclasses.replace(batch, old_logprobs=None)

  def state():
    return TrainState.create(jax.tree.map(np.copy, params), optimizer, jax.random.key(0))
  full_state, full = programs.update(state(), batch)
  micros = split_micro_batches(batch, rows=G, loss_agg=algorithm.loss_agg, length_multiple=8,
                               advantage_matters=algorithm.advantage_matters)
  micro_state, micro = programs.micro_update(state(), micros)

  np.testing.assert_allclose(micro["loss"], float(full["loss"]), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(micro["grad_norm"], float(full["grad_norm"]), rtol=1e-4)
  for a, b in zip(jax.tree.leaves(micro_state.params), jax.tree.leaves(full_state.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
  if algorithm.advantage_matters:              # the zero-advantage group is never computed
    assert len(micros) == 2 and micro["micro_batches"] == 2
  if name != "rft":
    assert micros[0].tokens.shape[1] <= 24 < T    # group 0 trimmed to its own length bucket


def test_split_keeps_the_whole_batch_normalizer():
  batch = _batch(ADVANTAGES)
  weights = loss_weights(batch.loss_mask, "token_mean", xp=np)
  micros = split_micro_batches(batch, rows=3, loss_agg="token_mean", length_multiple=16,
                               advantage_matters=True)
  # Rows 0-3 and 8-11 contribute, minus row 5 (no policy tokens, and in the zero group anyway):
  # 8 rows in micro-batches of 3, the last topped up with one zero-weight copy.
  assert [m.tokens.shape[0] for m in micros] == [3, 3, 3]
  assert sum(float(m.loss_weights.sum()) for m in micros) == pytest.approx(
      float(weights[[0, 1, 2, 3, 8, 9, 10, 11]].sum()))
  assert float(micros[-1].loss_weights[-1].sum()) == 0.0 and micros[-1].loss_mask[-1].sum() == 0
  assert all(m.tokens.shape[1] % 16 == 0 or m.tokens.shape[1] == T for m in micros)
  assert split_micro_batches(_batch([0.0] * (G * GROUPS)), rows=G, loss_agg="token_mean",
                             length_multiple=8, advantage_matters=True) == []


def test_combine_metrics_sums_shares_and_weights_means():
  out = combine_metrics([{"loss": 0.25, "tokens": 10.0, "ratio_mean": 1.0},
                         {"loss": 0.5, "tokens": 30.0, "ratio_mean": 2.0}])
  assert out == {"loss": 0.75, "tokens": 40.0, "ratio_mean": 1.75}
