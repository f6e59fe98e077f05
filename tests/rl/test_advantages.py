"""Group advantages vs hand-computed values, incl. all-equal groups with std and drop on/off."""

import numpy as np
import pytest

from selfchallenge_jax.rl.advantages import group_advantages

# Three groups of G=4, group-major: mixed, all solved, none solved.
REWARDS = np.array([1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0], np.float32)
# Group 0: mean 0.5, sample std sqrt(1/3) (deviations +-0.5, sum of squares 1, / (4 - 1)).
STD0 = np.sqrt(1 / 3)


def test_std_normalized_by_hand():
  out = group_advantages(REWARDS, 4, normalize_std=True, eps=1e-6)
  a = 0.5 / (STD0 + 1e-6)
  np.testing.assert_allclose(out.advantages[:4], [a, -a, -a, a], rtol=1e-6)
  # Zero-variance groups: exactly zero, not eps-sized rounding noise.
  assert np.all(out.advantages[4:] == 0.0)
  assert out.group_zero_variance.tolist() == [False, True, True]
  assert out.num_zero_variance == 2 and out.num_groups == 3
  assert out.keep.all()        # drop off: counted, but kept
  assert out.advantages.dtype == np.float32


def test_dr_grpo_no_std_by_hand():
  out = group_advantages(REWARDS, 4, normalize_std=False)
  np.testing.assert_array_equal(out.advantages, [0.5, -0.5, -0.5, 0.5] + [0.0] * 8)


@pytest.mark.parametrize("normalize_std", [True, False])
def test_drop_zero_variance_masks_exactly_those_groups(normalize_std):
  out = group_advantages(REWARDS, 4, normalize_std=normalize_std, drop_zero_variance=True)
  assert out.keep.tolist() == [True] * 4 + [False] * 8
  assert np.all(out.advantages[4:] == 0.0)
  kept = group_advantages(REWARDS, 4, normalize_std=normalize_std, drop_zero_variance=False)
  np.testing.assert_array_equal(out.advantages, kept.advantages)


def test_non_binary_rewards_and_group_size_two():
  out = group_advantages(np.array([0.2, 0.8, 3.0, 1.0, 0.5, 0.5]), 2, eps=0.0)
  # A pair (x, y): mean (x+y)/2, sample std |x-y|/sqrt(2) -> advantages -+ 1/sqrt(2).
  s = 1 / np.sqrt(2)
  np.testing.assert_allclose(out.advantages, [-s, s, s, -s, 0, 0], rtol=1e-6)
  assert out.group_zero_variance.tolist() == [False, False, True]


def test_normalized_groups_have_unit_sample_std():
  rng = np.random.default_rng(0)
  r = rng.uniform(size=8 * 5)
  a = group_advantages(r, 8, eps=0.0).advantages.reshape(5, 8)
  np.testing.assert_allclose(a.mean(axis=1), 0.0, atol=1e-6)
  np.testing.assert_allclose(a.std(axis=1, ddof=1), 1.0, rtol=1e-5)


def test_metrics_split_easy_and_hard_groups():
  m = group_advantages(REWARDS, 4, drop_zero_variance=True).metrics()
  assert m["adv/zero_variance_groups"] == 2
  assert m["adv/all_max_groups"] == 1 and m["adv/all_min_groups"] == 1
  assert m["adv/kept_rollouts"] == 4


def test_group_size_one_has_no_signal():
  out = group_advantages(np.array([1.0, 0.0, 1.0]), 1)
  assert np.all(out.advantages == 0.0) and out.num_zero_variance == 3


@pytest.mark.parametrize("rewards, g", [(np.zeros(5), 2), (np.zeros((2, 2)), 2),
                                        (np.array([0.0, np.nan]), 2)])
def test_bad_inputs_raise(rewards, g):
  with pytest.raises(ValueError):
    group_advantages(rewards, g)
