"""fork() for the single-threaded worker, without Python's at-fork hooks.

`os.fork()` runs the interpreter's after-fork work in every child: `threading._after_fork` and
`random`'s reseed, both registered because the worker preloads those modules for verifiers. On the
VMs we run on that Python code costs ~0.6 ms of copy-on-write page faults per child, about a third
of a whole verification. libc's fork() called through ctypes.PyDLL (which keeps the GIL) skips them.

What os.fork adds is only needed when other threads exist (re-initialising locks a thread might
hold, the import lock, the GIL), so this is used only while the process has exactly one thread;
otherwise it falls back to os.fork. The worker reseeds `random` itself after each child (see
`reseed_random`), so children still start with distinct seeds. Nothing here weakens confinement:
every layer is applied by the child after the fork, exactly as before.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import os
import sys

try:
  _libc = ctypes.PyDLL(None, use_errno=True)   # PyDLL: the GIL stays held across fork()
  _libc_fork = _libc.fork
  _libc_fork.restype = ctypes.c_int
  _libc_fork.argtypes = []
except (OSError, AttributeError):
  _libc_fork = None


def single_threaded() -> bool:
  try:
    return len(os.listdir("/proc/self/task")) == 1
  except OSError:
    return False


def fork(raw: bool) -> int:
  """Like os.fork(); with `raw` (caller checked single_threaded()) skips the at-fork hooks."""
  if not raw or _libc_fork is None:
    return os.fork()
  pid = _libc_fork()
  if pid < 0:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))
  return pid


def reseed_random() -> None:
  """What random's at-fork hook would do in the child, done once in the parent for the next child."""
  module = sys.modules.get("random")
  if module is not None:
    module.seed()
