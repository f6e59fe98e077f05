"""Rewards for finished episodes: a Grain stage that verifies while sampling goes on.

  engine's on_episode_end hook -> EpisodeBoard (element i = the i-th episode posted, any order)
    -> grain.MapDataset.source(board).map(score)   score: the task's verifier in the sandbox pool
                                                    (worker processes), or a benchmark's scorer
    -> .to_iter_dataset(ReadOptions(num_threads=T)) -> thread prefetch, started at construction

Grain's threads pick up element i the moment episode i is posted, so verification overlaps the
decoding of the batch's other slots and, when the trainer samples batch k+1 before updating on
batch k (`rl.overlap_next_batch`), all of batch k's verification hides behind that sampling.
Results come back in posting order; `collect` returns one batch's rewards and how long the caller
still had to wait for them.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import weakref
from typing import Any, Sequence

import grain
import numpy as np

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.tasks.record import CodeAsTask

_UNBOUNDED = 1 << 40      # the board's length: episodes are posted for as long as training runs


class _Closed:
  """What a board read returns once the stage is closed (unblocks Grain's waiting threads)."""


class EpisodeBoard:
  """Random-access source whose element i blocks until the i-th episode has been posted."""

  def __init__(self):
    self._items: dict[int, Any] = {}
    self._cond = threading.Condition()
    self._closed = False

  def __len__(self) -> int:
    return _UNBOUNDED

  def post(self, index: int, item: Any) -> None:
    with self._cond:
      self._items[index] = item
      self._cond.notify_all()

  def __getitem__(self, index: int) -> Any:
    with self._cond:
      self._cond.wait_for(lambda: index in self._items or self._closed)
      return self._items.pop(index, _Closed())

  def close(self) -> None:
    with self._cond:
      self._closed = True
      self._cond.notify_all()


@dataclasses.dataclass
class _Scored:
  index: int
  reward: float
  verdict: str
  start: float               # perf_counter at the verification's start and end
  end: float
  error: BaseException | None = None


@dataclasses.dataclass
class RewardBatch:
  """One task batch's place in the stage: episodes are posted as `offset + i`."""
  stage: "RewardStage"
  offset: int
  tasks: list[Any]

  def submit(self, index: int, episode: Episode) -> None:
    """Engine hook: hands episode `index` of this batch to Grain's verification threads."""
    if not 0 <= index < len(self.tasks):
      raise IndexError(f"episode {index} outside a batch of {len(self.tasks)}")
    self.stage.board.post(self.offset + index, (self.offset + index, self.tasks[index], episode))


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
    """`threads` bounds the episodes verified or awaited at once: keep it >= 2 task batches."""
    self.pool = pool
    self.board = EpisodeBoard()
    # Grain's prefetch threads wait on the board; at interpreter exit concurrent.futures joins them,
    # so an unclosed stage would hang the process. threading's exit hooks run before that join
    # (atexit's run after it, too late); the weakref keeps the hook from holding the board alive.
    board = weakref.ref(self.board)
    threading._register_atexit(lambda: board() is not None and board().close())  # pylint: disable=protected-access
    scored = grain.MapDataset.source(self.board).map(self._score).to_iter_dataset(
        grain.ReadOptions(num_threads=threads, prefetch_buffer_size=threads))
    self._results = iter(grain.experimental.ThreadPrefetchIterDataset(scored, prefetch_buffer_size=1))
    self._results.start_prefetch()
    self._next_offset = 0      # global index of the next batch's first episode
    self._next_result = 0      # global index of the next result collect expects

  def start(self, tasks: Sequence[Any]) -> RewardBatch:
    batch = RewardBatch(self, self._next_offset, list(tasks))
    self._next_offset += len(batch.tasks)
    return batch

  def _score(self, item: Any) -> _Scored | _Closed:
    if isinstance(item, _Closed):
      return item
    index, task, episode = item
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

  def collect(self, batch: RewardBatch) -> BatchRewards:
    """Waits for every episode of `batch` (batches are collected in the order they started)."""
    if batch.offset != self._next_result:
      raise RuntimeError(f"batches must be collected in order: expected the one starting at "
                         f"episode {self._next_result}, got {batch.offset}")
    t0 = time.perf_counter()
    results = [next(self._results) for _ in batch.tasks]
    waited = time.perf_counter() - t0
    self._next_result += len(batch.tasks)
    for i, r in enumerate(results):
      if isinstance(r, _Closed):
        raise RuntimeError("the reward stage was closed before the batch was scored")
      if r.index != batch.offset + i:
        raise RuntimeError(f"reward stage out of order: got episode {r.index}, expected "
                           f"{batch.offset + i}")
      if r.error is not None:
        raise RuntimeError(f"scoring episode {i} of the batch failed: {r.error}") from r.error
    return BatchRewards(np.asarray([r.reward for r in results], np.float32),
                        [r.verdict for r in results], waited,
                        busy_s=sum(r.end - r.start for r in results),
                        span_s=max(r.end for r in results) - min(r.start for r in results))

  def close(self) -> None:
    # Only the board: its reads then return _Closed, which a waiting collect receives and reports.
    # Closing the Grain iterator too would drop that element and leave collect waiting forever.
    self.board.close()
