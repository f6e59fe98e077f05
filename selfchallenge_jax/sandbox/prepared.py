"""The child's confinement steps with every argument prepared once, in the worker, before any fork.

A forked child pays a copy-on-write page fault (~2-4 us on our VMs) for every page it writes, and
with Python's reference counting merely loading an object writes to its page. Calling the general
helpers in confine/landlock/seccomp_filter from each child touched ~290 pages before the untrusted
code even started; this path touches ~50. The layers and their order are unchanged (see
child.confine_self); only the bookkeeping moved into the worker:

- the rlimit table, the ctypes seccomp program and prctl arguments are built once;
- no_new_privs, SIGXFSZ's default action and the empty environment are set once in the worker
  and inherited by every child (no_new_privs only restricts: it cannot be dropped again);
- fds are laid out with dup2 straight from their high numbers (the worker keeps them >= 5), and
  the work directory is entered with fchdir on a descriptor opened once.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import signal
from typing import Any

from selfchallenge_jax.sandbox import confine, landlock, seccomp_filter

RESULT_FD = 3
RULESET_FD = 4
_FIRST_FREE_FD = 5
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
  """Built by the worker from a child.ChildSetup; `apply` runs in each child."""

  def __init__(self, setup: Any) -> None:
    self.setup = setup
    self.uid = setup.uid
    self.worker_pid = setup.worker_pid
    self.ruleset_fd = setup.ruleset_fd
    self.workdir_fd = os.open(setup.workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
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
    os.close(self.workdir_fd)

  def apply(self, result_fd: int, out_fd: int) -> dict[str, bool]:
    """Confines the calling child; returns the layers applied. Raises if any step fails."""
    os.setsid()   # own process group: the worker kills the whole group, never its own
    os.fchdir(self.workdir_fd)
    self._move_fds(result_fd, out_fd)
    if os.environ:
      os.environ.clear()
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

  def _move_fds(self, result_fd: int, out_fd: int) -> None:
    """/dev/null on 0, output on 1 and 2, the result pipe on 3, the ruleset on 4; closes the rest."""
    ruleset_fd = self.ruleset_fd
    # A fresh /dev/null per child: a description shared with the worker would carry file status
    # flags (O_NONBLOCK, O_APPEND) set by one task's code over to the next task.
    devnull = os.open(os.devnull, os.O_RDONLY)
    sources = (devnull, result_fd, out_fd) + ((ruleset_fd,) if ruleset_fd is not None else ())
    dup2 = os.dup2
    if min(sources) < _FIRST_FREE_FD:   # a source would be overwritten: go through high fds
      # (devnull itself may land below 5 when fds 0-4 are free; F_DUPFD moves it up too)
      high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 16) for fd in sources]
      sources = tuple(high)
      if ruleset_fd is not None:
        ruleset_fd = high[3]
    dup2(sources[0], 0)
    dup2(sources[2], 1)
    dup2(sources[2], 2)
    dup2(sources[1], RESULT_FD)
    if ruleset_fd is not None:
      dup2(ruleset_fd, RULESET_FD)
      os.closerange(RULESET_FD + 1, self.max_fd)
    else:
      os.closerange(RESULT_FD + 1, self.max_fd)
