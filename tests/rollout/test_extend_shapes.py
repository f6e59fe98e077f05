"""ExtendShapes: the engine's row / token / window buckets and its split of pending rows."""

import pytest

from selfchallenge_jax.rollout.extend_shapes import ExtendShapes
from selfchallenge_jax.sampling.sampler import prompt_bucket


def test_length_groups_minimise_padded_token_rows():
  shapes = ExtendShapes(num_slots=16, cache_len=512, min_extend_rows=1, extend_overhead_tokens=32)
  # A 500-token prompt beside ten short observations: two extends, not ten rows padded to 512.
  lengths = [60, 500, 40, 50, 33, 60, 61, 62, 63, 64, 20]
  groups = shapes.length_groups(lengths)
  assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
  assert [sorted(lengths[i] for i in g)[-1] for g in groups][-1] == 500
  assert [1] in groups
  cost = sum(shapes.row_bucket(len(g)) * prompt_bucket(max(lengths[i] for i in g), 512)
             for g in groups)
  assert cost <= 512 + 16 * 64 < 16 * 512
  # A large overhead (an accelerator's weight read) keeps one extend; so does the default.
  shapes.extend_overhead_tokens = 10 ** 6
  assert len(shapes.length_groups(lengths)) == 1
  shapes.extend_overhead_tokens = -1
  assert len(shapes.length_groups(lengths)) == 1


def test_buckets_are_bounded_and_cover_every_size():
  shapes = ExtendShapes(num_slots=32, cache_len=2048, min_extend_rows=8)
  assert shapes.all_row_buckets() == [8, 16, 32]
  assert [shapes.row_bucket(n) for n in (1, 8, 9, 17, 32)] == [8, 8, 16, 32, 32]
  windows = shapes.all_windows()
  assert windows[0] >= 512 and windows[-1] == 2048
  assert all(shapes.window_bucket(c) >= c for c in range(1, 2049))
  assert set(shapes.window_bucket(c) for c in range(1, 2049)) == set(windows)


def test_bad_min_extend_rows():
  with pytest.raises(ValueError, match="min_extend_rows"):
    ExtendShapes(num_slots=4, cache_len=64, min_extend_rows=0)
