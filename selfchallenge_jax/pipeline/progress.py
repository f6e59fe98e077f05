"""Progress lines for long CPU runs: phase, step/total, rate and ETA, printed once on stderr (not
also through absl logging, whose handler writes to stderr too)."""

from __future__ import annotations

import sys
import time



class Progress:

  def __init__(self, phase: str, total: int, every_s: float = 5.0):
    self.phase, self.total, self.every_s = phase, max(total, 1), every_s
    self.start = time.time()
    self._last = 0.0
    self._done = 0

  def tick(self) -> None:
    """One more unit done (episodes ending in any order, from a callback)."""
    self._done += 1
    self.update(self._done)

  def update(self, done: int, **values: float) -> None:
    now = time.time()
    if now - self._last < self.every_s and done < self.total:
      return
    self._last = now
    elapsed = now - self.start
    eta = elapsed / max(done, 1) * (self.total - done)
    extra = " ".join(f"{k}={v:.4g}" for k, v in values.items())
    line = (f"[{self.phase}] {done}/{self.total} ({100 * done / self.total:.0f}%) "
            f"elapsed {elapsed:.0f}s eta {eta:.0f}s {extra}")
    print(line, file=sys.stderr, flush=True)
