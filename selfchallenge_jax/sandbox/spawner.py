"""Every sandbox worker is started from one long-lived thread.

A worker asks the kernel to SIGKILL it when its parent dies (`confine.die_with_parent`,
PR_SET_PDEATHSIG), so nothing outlives a crashed pool. Linux counts the parent as the *thread*
that forked it: a pool created (or a worker replaced) from a short-lived thread would lose its
workers when that thread returned. So the fork happens here, on a single-thread executor that
lives as long as the process (recreated in a forked child, which does not inherit threads).
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from typing import Callable, TypeVar

T = TypeVar("T")
_lock = threading.Lock()
_executor: concurrent.futures.ThreadPoolExecutor | None = None


def _forget_after_fork() -> None:
  global _executor
  _executor = None


os.register_at_fork(after_in_child=_forget_after_fork)


def run_in_spawner(start: Callable[[], T]) -> T:
  """`start()` run on the process's spawner thread; its result or exception comes back here."""
  global _executor
  with _lock:
    if _executor is None:
      _executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sandbox-spawner")
    executor = _executor
  if threading.current_thread().name.startswith("sandbox-spawner"):
    return start()
  return executor.submit(start).result()
