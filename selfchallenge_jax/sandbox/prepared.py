"""The child's confinement steps with every argument prepared once, in the worker, before any fork.

A forked child pays a copy-on-write page fault (~2-4 us on our VMs) for every page it writes, and
with Python's reference counting merely loading an object writes to its page. Calling the general
helpers in confine/landlock/seccomp_filter from each child touched ~290 pages before the untrusted
code even started; this path touches ~50. The layers and their order are unchanged (see
child.confine_self); only the bookkeeping moved into the worker:

- the rlimit table, the ctypes seccomp program and prctl arguments are built once;
- no_new_privs, SIGXFSZ's default action and the empty environment are set once in the worker
  and inherited by every child (no_new_privs only restricts: it cannot be dropped again);
- the worker lays out the child's fds before the fork (`place_fds`; its own live on >= 10) and
  its working directory is the work directory, so a child only closes what is above fd 4;
- the child starts its own process group with setpgid, not setsid: a new session also creates a
  scheduler autogroup per child, and the worker has no controlling terminal to detach from.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from typing import Any

from selfchallenge_jax.sandbox import confine, landlock, seccomp_filter

RESULT_FD = 3
RULESET_FD = 4
WORKER_FDS_FROM = 10   # the worker keeps its own descriptors at or above this
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int
_prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4   # no garbage in the upper halves
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_ulong]


def _fail(what: str) -> None:
  err = ctypes.get_errno()
  raise OSError(err, f"{what}: {os.strerror(err)}")


def prepare_worker() -> None:
  """Process-wide settings every child inherits; the worker itself needs none of what they remove.

  no_new_privs only affects execve (which the worker never calls) and lets unprivileged children
  enter Landlock and seccomp; SIGXFSZ must kill a child that hits RLIMIT_FSIZE (Python ignores it).
  """
  if _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    _fail("PR_SET_NO_NEW_PRIVS")
  signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
  os.environ.clear()


class Confinement:
  """Built by the worker from a child.ChildSetup: `place_fds` runs in the worker, `apply` in each
  child."""

  def __init__(self, setup: Any) -> None:
    self.setup = setup
    self.uid = setup.uid
    self.worker_pid = setup.worker_pid
    self.ruleset_fd = setup.ruleset_fd
    if self.ruleset_fd is not None:
      os.dup2(self.ruleset_fd, RULESET_FD)   # stays there: every child finds it on fd 4
    self.first_closed_fd = RESULT_FD + 1 if self.ruleset_fd is None else RULESET_FD + 1
    self.max_fd = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cpu = confine.cpu_seconds(setup.cpu_s)
    self.rlimits = confine.rlimit_table(cpu, setup.memory_bytes, setup.max_open_files,
                                        setup.max_output_bytes)
    self.seccomp_address = None
    if setup.seccomp_program is not None:
      program = setup.seccomp_program
      self._buffer = ctypes.create_string_buffer(program, len(program))
      self._fprog = seccomp_filter._SockFprog(len(program) // 8,
                                              ctypes.cast(self._buffer, ctypes.c_void_p))
      self.seccomp_address = ctypes.addressof(self._fprog)

  def close(self) -> None:
    if self.ruleset_fd is not None:
      os.close(RULESET_FD)

  @staticmethod
  def place_fds(stdin_fd: int, out_fd: int, result_fd: int) -> None:
    """In the worker, before the fork: stdin on 0, output on 1 and 2, the result pipe on 3.

    `stdin_fd` must be a /dev/null opened for this child alone: a description shared between
    tasks would carry file status flags (O_NONBLOCK, O_APPEND) set by one task's code to the next.
    """
    dup2 = os.dup2
    dup2(stdin_fd, 0)
    dup2(out_fd, 1)
    dup2(out_fd, 2)
    dup2(result_fd, RESULT_FD)

  def apply(self) -> dict[str, bool]:
    """Confines the calling child; returns the layers applied. Raises if any step fails."""
    os.setpgid(0, 0)   # own process group: the worker kills the whole group, never its own
    os.closerange(self.first_closed_fd, self.max_fd)   # everything the worker holds on >= 5
    applied = {}
    setrlimit = resource.setrlimit
    for which, value in self.rlimits:
      setrlimit(which, value)
    applied["rlimits"] = True
    uid = self.uid
    if uid is not None:
      os.setgroups([])
      os.setresgid(uid, uid, uid)
      os.setresuid(uid, uid, uid)
      if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(f"uid switch to {uid} did not take effect")
      applied["uid"] = True
    if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:   # after the uid switch
      _fail("PR_SET_PDEATHSIG")
    if os.getppid() != self.worker_pid:
      os._exit(1)   # the worker died before we armed the death signal
    if self.ruleset_fd is not None:
      if _syscall(landlock.SYS_RESTRICT_SELF, RULESET_FD, 0) != 0:
        _fail("landlock_restrict_self")
      os.close(RULESET_FD)
      applied["landlock"] = True
    if self.seccomp_address is not None:
      if _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self.seccomp_address, 0, 0) != 0:
        _fail("PR_SET_SECCOMP")
      applied["seccomp"] = True
    return applied
