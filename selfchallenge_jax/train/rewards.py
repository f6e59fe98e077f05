"""Rewards for finished episodes, computed while the rest of the batch is still sampling.

A Code-as-Task rollout is rewarded by its task's verifier, run in the sandbox pool (worker
processes) on the episode's final state, answer and action log; a benchmark task by its own scorer.
Verification starts from the engine's on_episode_end hook, so it overlaps other slots' decoding;
`collect` returns the rewards and how long the trainer still had to wait for them.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Any, Sequence

import numpy as np

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.evaluation.scoring import score_episode
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.tasks.record import CodeAsTask


class RewardStage:

  def __init__(self, pool: SandboxPool | None, threads: int = 8):
    self.pool = pool
    self._executor = cf.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="reward")
    self._futures: dict[int, cf.Future] = {}
    self.busy_s = 0.0        # summed verification time (thread-seconds)

  def start(self, tasks: Sequence[Any]) -> None:
    self._tasks = list(tasks)
    self._futures = {}
    self.busy_s = 0.0

  def submit(self, index: int, episode: Episode) -> None:
    """Engine hook: starts scoring episode `index` in the background."""
    self._futures[index] = self._executor.submit(self._score, self._tasks[index], episode)

  def _score(self, task: Any, episode: Episode) -> tuple[float, str]:
    t0 = time.perf_counter()
    try:
      if isinstance(task, CodeAsTask):
        if self.pool is None:
          raise ValueError("Code-as-Task rewards need a sandbox pool")
        verdict = self.pool.verify(task.verifier, episode.final_state, episode.answer or "",
                                   episode.actions)
        status = verdict.status.value
        return (1.0 if status == "passed" else 0.0), status
      if isinstance(task, BenchmarkTask):
        reward = float(score_episode(task, episode))
        return reward, "scored"
      raise TypeError(f"cannot reward a {type(task).__name__}")
    finally:
      self.busy_s += time.perf_counter() - t0

  def collect(self, count: int) -> tuple[np.ndarray, list[str], float]:
    """(rewards [count], verdict per episode, seconds the caller waited)."""
    t0 = time.perf_counter()
    missing = [i for i in range(count) if i not in self._futures]
    if missing:
      raise RuntimeError(f"episodes {missing[:5]} were never submitted for scoring")
    results = [self._futures[i].result() for i in range(count)]
    waited = time.perf_counter() - t0
    return np.asarray([r for r, _ in results], np.float32), [v for _, v in results], waited

  def close(self) -> None:
    self._executor.shutdown(wait=True)
