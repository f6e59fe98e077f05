"""Process-level confinement steps a worker or a task child applies to itself.

Each step is one function so the worker's probe can report exactly which layers the host allows.
Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_NOATIME = 2, 4, 8, 1024
_MS_REC, _MS_PRIVATE = 16384, 1 << 18
_MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> None:
  if result != 0:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))


def unshare_network() -> None:
  """Moves the calling worker into a fresh network + IPC namespace: only a downed loopback.

  Python 3.11 has no os.unshare. As root this needs no user namespace; otherwise an unprivileged
  user namespace grants the capability (where the host allows it).
  """
  flags = _CLONE_NEWNET | _CLONE_NEWIPC
  if os.geteuid() != 0:
    flags |= _CLONE_NEWUSER
  _check(_libc.unshare(flags))


def private_mounts() -> None:
  """Moves the calling worker into its own mount namespace (mounts made there stay there)."""
  _check(_libc.unshare(_CLONE_NEWNS))
  _check(_libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None))


def mount_task_tmpfs(path: str, max_bytes: int, max_files: int, uid: int | None) -> None:
  """A fresh tmpfs at `path`: the task's whole disk (size and inode count capped), owned by the
  child's uid, no setuid / devices / exec / atime (a readable atime would be state)."""
  owner = f",uid={uid},gid={uid}" if uid is not None else ""
  options = f"size={max_bytes},nr_inodes={max_files},mode=0700{owner}".encode()
  _check(_libc.mount(b"tmpfs", path.encode(), b"tmpfs",
                     _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | _MS_NOATIME, options))


def unmount(path: str) -> None:
  """Detaches the mount at `path`; the kernel frees its files (no tree walk here)."""
  _check(_libc.umount2(path.encode(), _MNT_DETACH))


def die_with_parent() -> None:
  """SIGKILL this process when its parent dies, so nothing outlives a crashed pool or worker."""
  _check(_libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), 0, 0, 0))


def cpu_seconds(cpu_s: float) -> int:
  return max(1, math.ceil(cpu_s))


def rlimit_table(cpu: int, memory_bytes: int, max_open_files: int,
                 max_file_bytes: int) -> list[tuple[int, tuple[int, int]]]:
  """(resource, (soft, hard)) pairs; see set_rlimits."""
  return [
      # Soft limit -> SIGXCPU, hard limit one second later -> SIGKILL if SIGXCPU is caught.
      (resource.RLIMIT_CPU, (cpu, cpu + 1)),
      (resource.RLIMIT_AS, (memory_bytes, memory_bytes)),
      (resource.RLIMIT_NOFILE, (max_open_files, max_open_files)),
      (resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes)),
      (resource.RLIMIT_CORE, (0, 0)),
      # Counts every process and thread of the real uid: with a per-worker uid this forbids
      # forking and threads. Root ignores it, which is why children switch uid.
      (resource.RLIMIT_NPROC, (1, 1)),
  ]


def set_rlimits(cpu_s: float, memory_bytes: int, max_open_files: int, max_file_bytes: int) -> None:
  """CPU seconds, address space, open files, file size (stdout/stderr included), one process."""
  for which, value in rlimit_table(cpu_seconds(cpu_s), memory_bytes, max_open_files,
                                   max_file_bytes):
    resource.setrlimit(which, value)


def drop_to_uid(uid: int) -> None:
  """Switches real/effective/saved uid and gid to `uid` (an unused id) and drops all groups."""
  os.setgroups([])
  os.setresgid(uid, uid, uid)
  os.setresuid(uid, uid, uid)
  if os.getuid() != uid or os.geteuid() != uid:
    raise OSError(f"uid switch to {uid} did not take effect")
