"""Token-budget SFT batches: one length bucket per batch, static shapes, every demo once an epoch."""

import collections

import numpy as np
import pytest

from selfchallenge_jax.pipeline.demo_batches import DemoBatches


def _examples(lengths):
  out = []
  for i, n in enumerate(lengths):
    ids = np.arange(1, n + 1, dtype=np.int32) + 1000 * i          # row i's ids identify it
    role = np.zeros(n, np.float32)
    role[n // 2:] = 1.0
    out.append((ids, role))
  return out


def test_batches_group_by_bucket_fill_the_budget_and_cover_every_demo_each_epoch():
  lengths = [100, 200, 250, 300, 500, 510, 700, 1000, 90, 260, 50]
  examples = _examples(lengths)
  batches = DemoBatches(examples, batch_tokens=1024, length_multiple=256, max_len=1024,
                        rng=np.random.default_rng(0))
  assert batches.rows == {256: 4, 512: 2, 768: 1, 1024: 1}
  seen = collections.Counter()
  shapes = set()
  while batches.epochs < 2 or batches._queue:
    tokens, positions, mask, loss_mask, logit_positions = batches.next()
    B, T = tokens.shape
    shapes.add((B, T))
    assert B == batches.rows[T]
    np.testing.assert_array_equal(positions, np.broadcast_to(np.arange(T), (B, T)))
    for row in range(B):
      n = int(mask[row].sum())
      assert mask[row, :n].all() and not mask[row, n:].any()
      i = int(tokens[row, 0]) // 1000
      assert n == lengths[i] and -(-n // 256) * 256 == T
      np.testing.assert_array_equal(loss_mask[row, :n - 1], examples[i][1][1:])
      assert not loss_mask[row, n - 1:].any()
      # the LM head reads exactly the loss positions
      picked = logit_positions[row][logit_positions[row] >= 0]
      np.testing.assert_array_equal(picked, np.flatnonzero(loss_mask[row]))
      seen[i] += 1
  assert shapes == {(4, 256), (2, 512), (1, 768), (1, 1024)}
  # Two epochs: every demo at least twice; the 256 bucket (5 demos, 4 rows a batch) is topped up
  # with 3 repeats an epoch: rows per epoch = 8 + 4 + 1 + 1.
  assert all(seen[i] >= 2 for i in range(len(lengths)))
  assert sum(seen.values()) == 2 * (8 + 4 + 1 + 1)


def test_bad_input_fails_clearly():
  with pytest.raises(ValueError, match="at least one"):
    DemoBatches([], batch_tokens=8, length_multiple=4, max_len=8,
                rng=np.random.default_rng(0))
  with pytest.raises(ValueError, match="exceed max_len"):
    DemoBatches(_examples([20]), batch_tokens=64, length_multiple=4, max_len=16,
                rng=np.random.default_rng(0))


def test_rows_are_rounded_up_to_the_row_multiple():
  """On a mesh of 4 batch-parallel devices every batch splits: a row count it did not divide
  would be replicated (every device computing the whole batch)."""
  batches = DemoBatches(_examples([100, 200, 250, 300, 500, 700, 1000]), batch_tokens=1024,
                        length_multiple=256, max_len=1024, rng=np.random.default_rng(0),
                        row_multiple=4)
  assert batches.rows == {256: 4, 512: 4, 768: 4, 1024: 4}
  for _ in range(6):
    assert batches.next()[0].shape[0] == 4
