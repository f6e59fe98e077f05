"""Paired bootstrap interval for a before/after change in pass@1 over the same tasks.

The two evaluations score the same tasks (same seed), so the change is measured per task
(after - before of its mean reward over k samples) and the uncertainty comes from which tasks were
drawn: resample tasks with replacement, within each family (stratified, so every resample has each
family's task count), and average the families with equal weight as the headline pass@1 does.
The interval is the percentile bootstrap's.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def task_pass_rates(eval_json: Mapping[str, Any]) -> dict[str, dict[str, float]]:
  """family -> task id -> mean reward of its samples, from an eval_<tag>.json."""
  out = {}
  for family, env in eval_json["envs"].items():
    out[family] = {t["task_id"]: float(np.mean([r == 1.0 for r in t["rewards"]]))
                   for t in env["tasks"]}
  return out


def paired_bootstrap(before: Mapping[str, Mapping[str, float]],
                     after: Mapping[str, Mapping[str, float]], *, resamples: int = 10_000,
                     confidence: float = 0.95, seed: int = 0) -> dict[str, Any]:
  """Mean over families of (after - before) per task, with a stratified paired bootstrap interval.

  before / after: family -> task id -> pass rate. Families and task ids must match exactly (a
  paired comparison of different tasks is meaningless: ValueError).
  """
  if set(before) != set(after) or not before:
    raise ValueError(f"families differ: {sorted(before)} vs {sorted(after)}")
  rng = np.random.default_rng(seed)
  per_family, draws = {}, []
  for family in sorted(before):
    if set(before[family]) != set(after[family]) or not before[family]:
      raise ValueError(f"{family}: the two evaluations scored different tasks")
    ids = sorted(before[family])
    diff = np.asarray([after[family][i] - before[family][i] for i in ids])
    per_family[family] = {"tasks": len(ids), "delta": float(diff.mean()),
                          "before": float(np.mean([before[family][i] for i in ids])),
                          "after": float(np.mean([after[family][i] for i in ids]))}
    index = rng.integers(0, len(ids), size=(resamples, len(ids)))
    draws.append(diff[index].mean(axis=1))
  deltas = np.mean(draws, axis=0)                       # equal weight per family
  alpha = (1.0 - confidence) / 2
  low, high = np.quantile(deltas, [alpha, 1.0 - alpha])
  return {"delta": float(np.mean([f["delta"] for f in per_family.values()])),
          "low": float(low), "high": float(high), "confidence": confidence,
          "resamples": resamples, "per_family": per_family}


def interval_text(result: Mapping[str, Any], scale: float = 100.0) -> str:
  return (f"{scale * result['delta']:+.1f} points (paired bootstrap "
          f"{100 * result['confidence']:.0f}% CI {scale * result['low']:+.1f} .. "
          f"{scale * result['high']:+.1f})")


def families_of(results: Sequence[Mapping[str, Any]]) -> list[str]:
  return sorted(set().union(*(r["envs"] for r in results)))
