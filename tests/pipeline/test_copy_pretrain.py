"""Copy batches: the loss reads only tokens that repeat a window seen earlier in the row."""

import numpy as np
import pytest

from selfchallenge_jax.pipeline.copy_pretrain import copy_batch


def test_loss_reads_only_repeats_of_earlier_windows():
  pool = np.arange(100, 1100)                 # distinct ids: a repeat is identifiable
  tokens, positions, mask, loss_mask = copy_batch(pool, np.random.default_rng(0), batch_size=6,
                                                  length=256, bos_id=1)
  assert tokens.shape == positions.shape == mask.shape == (6, 256)
  assert loss_mask.shape == (6, 255)
  for row in range(6):
    n = int(mask[row].sum())
    assert tokens[row, 0] == 1 and mask[row, :n].all() and not mask[row, n:].any()
    assert n > 256 - (2 * 48 + 24)                # filled up to the last pair that fits
    assert not loss_mask[row, n - 1:].any()       # nothing scored past the row's end
    scored = np.zeros(n, bool)
    scored[1:] = loss_mask[row, :n - 1] > 0       # loss_mask[t] scores the token at t + 1
    assert 0.25 < scored.mean() < 0.5
    # Every scored run (a repeated window) occurs earlier in the row, contiguous and unscored.
    row_ids = tokens[row, :n].tolist()
    i = 0
    while i < n:
      if not scored[i]:
        i += 1
        continue
      j = i
      while j < n and scored[j]:
        j += 1
      run = row_ids[i:j]
      assert any(row_ids[k:k + len(run)] == run and not scored[k:k + len(run)].any()
                 for k in range(i - len(run) + 1)), (row, i, run)
      i = j
  np.testing.assert_array_equal(positions[3], np.arange(256))


def test_same_seed_same_batch_and_bad_input():
  pool = np.arange(5, 600)
  a = copy_batch(pool, np.random.default_rng(4), batch_size=2, length=128, bos_id=1)
  b = copy_batch(pool, np.random.default_rng(4), batch_size=2, length=128, bos_id=1)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)
  with pytest.raises(ValueError, match="pool of more than"):
    copy_batch(np.arange(10), np.random.default_rng(0), batch_size=1, length=256, bos_id=1)
  with pytest.raises(ValueError, match="cannot hold one window pair"):
    copy_batch(pool, np.random.default_rng(0), batch_size=1, length=64, bos_id=1)
