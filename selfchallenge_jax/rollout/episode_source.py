"""Where the rollout engine's episodes come from: a fixed list (training, evaluation) or a queue
that callers add to while the engine runs (serving: a request joins the running batch at the next
decode chunk, and may be cancelled).

The engine's loop asks `take()` for an episode whenever a slot is free, `cancelled()` which of the
running ones to drop, tells it `forget(index)` as each ends, and, when it has nothing to do,
`wait()`s; it stops once `exhausted()` and every slot is empty.
"""

from __future__ import annotations

import collections
import threading
from typing import Iterable

from selfchallenge_jax.rollout.episode import EpisodeSpec


class ListSource:
  """The episodes of a list, indexed by position; nothing is ever cancelled."""

  def __init__(self, specs: Iterable[EpisodeSpec]):
    self._waiting = collections.deque(enumerate(specs))

  def take(self) -> tuple[int, EpisodeSpec] | None:
    return self._waiting.popleft() if self._waiting else None

  def cancelled(self) -> set[int]:
    return set()

  def forget(self, index: int) -> None:
    """Nothing is remembered about an ended episode."""

  def exhausted(self) -> bool:
    return not self._waiting

  def wait(self) -> None:
    """Never called with episodes waiting: the engine always has work until the list is done."""


class QueueSource:
  """A thread-safe queue of episodes for a long-running engine loop (`RolloutEngine.serve`).

  `submit(spec)` returns the episode's index; `cancel(index)` drops it (waiting or running);
  `close()` lets the loop end once the running episodes finish.
  """

  def __init__(self):
    self._cond = threading.Condition()
    self._waiting: collections.deque[tuple[int, EpisodeSpec]] = collections.deque()
    self._cancelled: set[int] = set()
    self._live: set[int] = set()          # submitted and not yet ended
    self._next = 0
    self._closed = False

  def submit(self, spec: EpisodeSpec) -> int:
    with self._cond:
      if self._closed:
        raise RuntimeError("the episode queue is closed")
      index = self._next
      self._next += 1
      self._live.add(index)
      self._waiting.append((index, spec))
      self._cond.notify_all()
      return index

  def cancel(self, index: int) -> None:
    """Drops episode `index` if it has not ended (a late cancel is a no-op)."""
    with self._cond:
      if index in self._live:
        self._cancelled.add(index)
        self._cond.notify_all()

  def close(self) -> None:
    with self._cond:
      self._closed = True
      self._cond.notify_all()

  def take(self) -> tuple[int, EpisodeSpec] | None:
    with self._cond:
      while self._waiting:
        index, spec = self._waiting.popleft()
        if index in self._cancelled:           # cancelled before it started: never runs
          self._cancelled.discard(index)
          self._live.discard(index)
          continue
        return index, spec
      return None

  def cancelled(self) -> set[int]:
    with self._cond:
      return set(self._cancelled)

  def forget(self, index: int) -> None:
    """The engine ended episode `index` (any reason): nothing about it need be remembered."""
    with self._cond:
      self._cancelled.discard(index)
      self._live.discard(index)

  def exhausted(self) -> bool:
    with self._cond:
      return self._closed and not self._waiting

  def wait(self, timeout_s: float = 1.0) -> None:
    with self._cond:
      self._cond.wait_for(lambda: self._waiting or self._closed, timeout=timeout_s)
