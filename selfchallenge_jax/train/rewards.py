"""Rewards for finished episodes: verification starts the moment an episode ends.

  engine's on_episode_end hook -> RewardBatch.submit(i, episode)
    -> a thread of the stage's executor: score = the task's verifier in the sandbox pool (worker
       processes), or a benchmark's scorer -> the episode's future
  RewardStage.collect(batch) -> the batch's futures, in episode order

Verification overlaps the decoding of the batch's other slots and, when the trainer samples batch
k+1 before updating on batch k (`rl.overlap_next_batch`), all of batch k's verification hides
behind that sampling. `collect` returns one batch's rewards and how long the caller still had to
wait for them. Plain futures, not a Grain dataset: episodes end in any order while sampling goes
on, which a random-access source of known length (what Grain reads) does not describe; the task
data feeding the rollouts is the Grain pipeline (data/task_pipeline.py).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
import time
from typing import Any, Sequence

import numpy as np

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.tasks.record import CodeAsTask


class StageClosedError(RuntimeError):
  """The reward stage was closed while a batch was still being scored."""


@dataclasses.dataclass
class _Scored:
  index: int
  reward: float
  verdict: str
  start: float               # perf_counter at the verification's start and end
  end: float
  error: BaseException | None = None


class RewardBatch:
  """One task batch's place in the stage: episode i's verification is `futures[i]` once submitted."""

  def __init__(self, stage: "RewardStage", offset: int, tasks: list[Any]):
    self.stage = stage
    self.offset = offset             # global index of the batch's first episode
    self.tasks = tasks
    self.futures: list[concurrent.futures.Future | None] = [None] * len(tasks)

  def submit(self, index: int, episode: Episode) -> None:
    """Engine hook: starts verifying episode `index` of this batch on the stage's threads."""
    if not 0 <= index < len(self.tasks):
      raise IndexError(f"episode {index} outside a batch of {len(self.tasks)}")
    self.stage._submit(self, index, episode)  # pylint: disable=protected-access


@dataclasses.dataclass
class BatchRewards:
  rewards: np.ndarray        # [batch] float32
  verdicts: list[str]
  waited_s: float            # how long collect blocked
  busy_s: float              # summed verification time of the batch (thread-seconds)
  span_s: float              # wall time from the first verification's start to the last's end

  @property
  def hidden_frac(self) -> float:
    """The share of the verification wall span the trainer did not wait for (1 = fully hidden)."""
    return max(0.0, 1.0 - self.waited_s / self.span_s) if self.span_s > 0 else 1.0


class RewardStage:

  def __init__(self, pool: SandboxPool | None, threads: int = 128):
    """`threads` bounds the episodes verified at once (each mostly waits on a sandbox worker)."""
    self.pool = pool
    self._executor = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="reward")
    self._submitted = threading.Condition()
    self._closed = False
    self._next_offset = 0      # global index of the next batch's first episode
    self._next_result = 0      # global index of the next episode collect expects

  def start(self, tasks: Sequence[Any]) -> RewardBatch:
    batch = RewardBatch(self, self._next_offset, list(tasks))
    self._next_offset += len(batch.tasks)
    return batch

  def _submit(self, batch: RewardBatch, index: int, episode: Episode) -> None:
    with self._submitted:
      if self._closed:
        raise StageClosedError("the reward stage is closed")
      if batch.futures[index] is not None:
        raise ValueError(f"episode {index} of the batch was already submitted")
      batch.futures[index] = self._executor.submit(
          self._score, batch.offset + index, batch.tasks[index], episode)
      self._submitted.notify_all()

  def _score(self, index: int, task: Any, episode: Episode) -> _Scored:
    t0 = time.perf_counter()
    try:
      reward, verdict = self._reward(task, episode)
      return _Scored(index, reward, verdict, t0, time.perf_counter())
    except Exception as e:     # re-raised by collect in the caller's thread; the stage lives on
      return _Scored(index, 0.0, "error", t0, time.perf_counter(), error=e)

  def _reward(self, task: Any, episode: Episode) -> tuple[float, str]:
    if isinstance(task, CodeAsTask):
      if self.pool is None:
        raise ValueError("Code-as-Task rewards need a sandbox pool")
      verdict = self.pool.verify(task.verifier, episode.final_state, episode.answer or "",
                                 episode.actions)
      status = verdict.status.value
      return (1.0 if status == "passed" else 0.0), status
    if isinstance(task, BenchmarkTask):
      return float(score_episode(task, episode)), "scored"
    raise TypeError(f"cannot reward a {type(task).__name__}")

  def _result(self, batch: RewardBatch, index: int) -> _Scored:
    with self._submitted:
      self._submitted.wait_for(lambda: batch.futures[index] is not None or self._closed)
      future = batch.futures[index]
    if future is None:
      raise StageClosedError("the reward stage was closed before the batch was scored")
    try:
      return future.result()
    except concurrent.futures.CancelledError:
      raise StageClosedError("the reward stage was closed before the batch was scored") from None

  def collect(self, batch: RewardBatch) -> BatchRewards:
    """Waits for every episode of `batch` (batches are collected in the order they started)."""
    if batch.offset != self._next_result:
      raise RuntimeError(f"batches must be collected in order: expected the one starting at "
                         f"episode {self._next_result}, got {batch.offset}")
    t0 = time.perf_counter()
    results = [self._result(batch, i) for i in range(len(batch.tasks))]
    waited = time.perf_counter() - t0
    self._next_result += len(batch.tasks)
    for i, r in enumerate(results):
      if r.error is not None:
        raise RuntimeError(f"scoring episode {i} of the batch failed: {r.error}") from r.error
    return BatchRewards(np.asarray([r.reward for r in results], np.float32),
                        [r.verdict for r in results], waited,
                        busy_s=sum(r.end - r.start for r in results),
                        span_s=max(r.end for r in results) - min(r.start for r in results))

  def close(self) -> None:
    """Wakes any waiting collect (it raises StageClosedError) and drops verifications not started."""
    with self._submitted:
      self._closed = True
      self._submitted.notify_all()
    self._executor.shutdown(wait=False, cancel_futures=True)
