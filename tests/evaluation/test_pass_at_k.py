"""The unbiased pass@k estimator against brute-force enumeration and exact binomials."""

import fractions
import itertools
import math

import pytest

from selfchallenge_jax.evaluation.pass_at_k import mean_pass_at_k, pass_at_k


def brute_force(n, c, k):
  """Fraction of k-subsets of n samples (the first c correct) holding a correct sample."""
  subsets = list(itertools.combinations(range(n), k))
  return sum(1 for s in subsets if any(i < c for i in s)) / len(subsets)


@pytest.mark.parametrize("n", range(1, 9))
def test_matches_enumeration(n):
  for c in range(n + 1):
    for k in range(1, n + 1):
      assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12), (n, c, k)


def test_known_values():
  assert pass_at_k(10, 0, 5) == 0.0
  assert pass_at_k(10, 10, 1) == 1.0
  assert pass_at_k(4, 1, 1) == 0.25                 # pass@1 is the success rate c / n
  assert pass_at_k(4, 1, 4) == 1.0
  assert pass_at_k(5, 2, 2) == pytest.approx(0.7)   # 1 - C(3,2)/C(5,2) = 1 - 3/10


def test_large_n_is_stable():
  # C(1000, 500) overflows a float; the product form stays exact to rounding.
  n, c, k = 1000, 3, 500
  exact = 1 - fractions.Fraction(math.comb(n - c, k), math.comb(n, k))
  assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12)
  assert 0.0 < pass_at_k(200, 1, 1) < 0.01


@pytest.mark.parametrize("n,c,k", [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_rejects_impossible_counts(n, c, k):
  with pytest.raises(ValueError):
    pass_at_k(n, c, k)


def test_mean_over_tasks():
  assert mean_pass_at_k([(4, 0), (4, 4), (4, 2)], 1) == pytest.approx(0.5)
  assert mean_pass_at_k([(2, 1), (2, 0)], 2) == pytest.approx(0.5)
  with pytest.raises(ValueError):
    mean_pass_at_k([], 1)
