"""A pool's temp root, and the removal of roots that pools killed without closing left behind.

A live pool holds an exclusive flock on its root's lock file for its whole life; the kernel drops
the lock when the process dies, however it dies (SIGKILL, the OOM killer), so a root whose lock
can be taken belongs to no live pool. Each new pool removes such roots before making its own.
The lock file appears only once locked (made under a temporary name, locked, then renamed), so a
pool that is starting is never taken for a dead one. Roots without a lock file (older versions),
of another user, or symlinks are left alone.
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile

from absl import logging

from selfchallenge_jax.sandbox import tree

PREFIX = "selfchallenge_sandbox_"
LOCK_NAME = ".owner.lock"


def remove_stale_roots(parent: str | None = None) -> list[str]:
  """Removes the roots under `parent` (default: the temp dir) whose pool is gone; returns them."""
  parent = parent or tempfile.gettempdir()
  removed = []
  try:
    names = [n for n in os.listdir(parent) if n.startswith(PREFIX)]
  except OSError:
    return removed
  for name in names:
    path = os.path.join(parent, name)
    try:
      st = os.lstat(path)        # a symlink is not a directory here
      if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        continue
      fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:          # gone meanwhile, no lock file, or not ours to read
      continue
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:          # held: its pool is alive
      os.close(fd)
      continue
    try:
      tree.remove_tree(path)
      removed.append(path)
    except OSError as e:
      logging.warning("Stale sandbox directory %s not fully removed: %s", path, e)
    finally:
      os.close(fd)
  if removed:
    logging.info("Removed %d sandbox directories of pools that died without closing",
                 len(removed))
  return removed


class PoolRoot:
  """The temp root of one live pool (mode 0711: children reach their own dir, list no other)."""

  def __init__(self, parent: str | None = None) -> None:
    remove_stale_roots(parent)
    self.path = tempfile.mkdtemp(prefix=PREFIX, dir=parent)
    os.chmod(self.path, 0o711)
    pending = os.path.join(self.path, LOCK_NAME + ".new")
    self._lock_fd: int | None = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC,
                                        0o600)
    fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
    os.rename(pending, os.path.join(self.path, LOCK_NAME))

  def remove(self) -> None:
    """Removes the root (idempotent), then releases the lock."""
    if self._lock_fd is None:
      return
    try:
      tree.remove_tree(self.path)
    except OSError as e:
      logging.warning("Sandbox directory %s not fully removed: %s", self.path, e)
    finally:
      os.close(self._lock_fd)
      self._lock_fd = None
