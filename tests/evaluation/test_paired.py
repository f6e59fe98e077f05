"""The paired bootstrap interval: centred on the mean per-task change, narrow when every task moves
the same way, covering 0 when changes cancel, and refusing unpaired inputs."""

import numpy as np
import pytest

from selfchallenge_jax.evaluation.paired import paired_bootstrap, task_pass_rates


def _rates(values):
  return {f"t{i}": v for i, v in enumerate(values)}


def test_consistent_gain_has_an_interval_above_zero():
  before = {"a": _rates([0.0] * 20), "b": _rates([0.25] * 20)}
  after = {"a": _rates([0.25] * 10 + [0.5] * 10), "b": _rates([0.5] * 20)}
  r = paired_bootstrap(before, after, resamples=2000)
  assert r["delta"] == pytest.approx((0.375 + 0.25) / 2)
  assert 0 < r["low"] <= r["delta"] <= r["high"]
  assert r["per_family"]["a"]["delta"] == pytest.approx(0.375)


def test_cancelling_changes_cover_zero():
  before = {"a": _rates([0.0] * 10 + [1.0] * 10)}
  after = {"a": _rates([1.0] * 10 + [0.0] * 10)}
  r = paired_bootstrap(before, after, resamples=2000)
  assert r["delta"] == pytest.approx(0.0)
  assert r["low"] < 0 < r["high"]


def test_interval_matches_a_direct_resampling():
  rng = np.random.default_rng(1)
  b = rng.integers(0, 5, 30) / 4
  a = np.clip(b + rng.integers(-1, 3, 30) / 4, 0, 1)
  r = paired_bootstrap({"x": _rates(b)}, {"x": _rates(a)}, resamples=4000, seed=3)
  order = sorted(range(30), key=lambda i: f"t{i}")          # tasks are taken in id order
  diff = (a - b)[order]
  draws = diff[np.random.default_rng(3).integers(0, 30, (4000, 30))].mean(axis=1)
  assert r["low"] == pytest.approx(np.quantile(draws, 0.025))
  assert r["high"] == pytest.approx(np.quantile(draws, 0.975))


def test_unpaired_inputs_are_refused():
  with pytest.raises(ValueError, match="different tasks"):
    paired_bootstrap({"a": _rates([0, 1])}, {"a": {"t0": 0, "t9": 1}})
  with pytest.raises(ValueError, match="families"):
    paired_bootstrap({"a": _rates([0])}, {"b": _rates([0])})


def test_task_pass_rates_reads_an_eval_json():
  eval_json = {"envs": {"calc": {"tasks": [{"task_id": "x", "rewards": [1.0, 0.0, 1.0, 1.0]},
                                           {"task_id": "y", "rewards": [0.0, 0.0]}]}}}
  assert task_pass_rates(eval_json) == {"calc": {"x": 0.75, "y": 0.0}}
