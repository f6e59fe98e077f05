"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on
Code"): with n samples of which c are correct,

    pass@k = 1 - C(n - c, k) / C(n, k)

the probability that k samples drawn without replacement from the n include a correct one.
Computed as 1 - prod_{i = n-c+1}^{n} (1 - k / i), which never forms the huge binomials. Beside it,
tau-bench's pass^k (every one of k samples succeeds): C(c, k) / C(n, k).
"""

from __future__ import annotations

from typing import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
  """Unbiased pass@k of one task from n samples with c correct (needs 1 <= k <= n)."""
  if not 0 <= c <= n:
    raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
  if not 1 <= k <= n:
    raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
  if n - c < k:        # every k-subset holds a correct sample
    return 1.0
  failing = 1.0
  for i in range(n - c + 1, n + 1):
    failing *= 1.0 - k / i
  return 1.0 - failing


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
  """Mean pass@k over tasks given as (n, c) pairs."""
  values = [pass_at_k(n, c, k) for n, c in counts]
  if not values:
    raise ValueError("pass@k of no tasks is undefined")
  return sum(values) / len(values)


def pass_hat_k(n: int, c: int, k: int) -> float:
  """tau-bench's pass^k of one task: the probability that k samples drawn without replacement from
  the n all succeed, C(c, k) / C(n, k) (needs 1 <= k <= n)."""
  if not 0 <= c <= n:
    raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
  if not 1 <= k <= n:
    raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
  value = 1.0
  for i in range(k):
    value *= (c - i) / (n - i)
  return max(value, 0.0)


def mean_pass_hat_k(counts: Iterable[tuple[int, int]], k: int) -> float:
  """Mean pass^k over tasks given as (n, c) pairs."""
  values = [pass_hat_k(n, c, k) for n, c in counts]
  if not values:
    raise ValueError("pass^k of no tasks is undefined")
  return sum(values) / len(values)
