"""A seccomp-BPF deny list, assembled by hand and installed with prctl (no libseccomp needed).

Verifier code needs pure computation and files in its work directory, so the filter denies what it
never needs and what would widen its reach: new processes and threads, exec, sockets, namespaces,
tracing other processes, kernel keyrings, io_uring (whose operations bypass seccomp), eBPF,
mounts and SysV IPC. Everything else is allowed: an allow list breaks whenever Python or glibc change which
syscalls they use. Denied calls fail with EPERM (clone3 with ENOSYS so glibc falls back to clone,
which is then denied), so hostile code sees an ordinary Python exception.

Stdlib only: workers run this under `python -I -S`. x86_64 only; elsewhere `supported()` is False
and the pool's probe reports the layer as missing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl).
_DENIED_X86_64 = {
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53,
    "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "ptrace": 101, "syslog": 103,
    "uselib": 134, "personality": 135, "vhangup": 153, "modify_ldt": 154, "pivot_root": 155,
    "_sysctl": 156, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "sethostname": 170, "setdomainname": 171,
    "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179,
    "nfsservctl": 180, "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246,
    "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "accept4": 288,
    "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    # SysV IPC: shared memory outside RLIMIT_AS that outlives the task (and the next task on the
    # worker, which shares its IPC namespace, could read it).
    "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
    "shmdt": 67, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220,
}
_ENOSYS_X86_64 = {"clone3": 435}

# BPF opcodes (linux/bpf_common.h, linux/seccomp.h).
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JGT_K = 0x25
_BPF_RET_K = 0x06
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_ALLOW = 0x7FFF0000
_OFFSET_NR = 0
_OFFSET_ARCH = 4

_libc = ctypes.CDLL(None, use_errno=True)   # loaded once in the worker, not per child
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def supported() -> bool:
  return platform.machine() == "x86_64"


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
  return struct.pack("<HBBI", code, jt, jf, k)


def _intervals() -> list[tuple[int, int, int]]:
  """Denied syscall numbers as sorted (first, last, action) runs of consecutive numbers."""
  deny, enosys = _SECCOMP_RET_ERRNO | errno.EPERM, _SECCOMP_RET_ERRNO | errno.ENOSYS
  actions = {**{n: deny for n in _DENIED_X86_64.values()},
             **{n: enosys for n in _ENOSYS_X86_64.values()}}
  runs: list[list[int]] = []
  for number in sorted(actions):
    if runs and runs[-1][1] == number - 1 and runs[-1][2] == actions[number]:
      runs[-1][1] = number
    else:
      runs.append([number, number, actions[number]])
  return [(first, last, action) for first, last, action in runs]


def _search(runs: list[tuple[int, int, int]]) -> list[bytes]:
  """A binary search over `runs` on the syscall number in A; every path ends in a return.

  A chain of one test per number made the kernel's per-filter action cache (computed by emulating
  the filter for every syscall number, with interrupts off) the costliest step of confining a
  child; a search tree needs a handful of steps per number.
  """
  if len(runs) == 1:
    first, last, action = runs[0]
    return [_insn(_BPF_JGE_K, 0, 2, first),     # nr < first: allow
            _insn(_BPF_JGT_K, 1, 0, last),      # nr > last: allow
            _insn(_BPF_RET_K, 0, 0, action),
            _insn(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW)]
  middle = len(runs) // 2
  below, above = _search(runs[:middle]), _search(runs[middle:])
  if len(below) > 255:
    raise ValueError("seccomp search tree too deep for 8-bit jumps")
  return [_insn(_BPF_JGE_K, len(below), 0, runs[middle][0])] + below + above


def build_filter() -> bytes:
  """The BPF program: wrong arch -> kill; x32 ABI -> EPERM; denied syscall -> errno; else allow."""
  deny = _SECCOMP_RET_ERRNO | errno.EPERM
  program = [
      _insn(_BPF_LD_W_ABS, 0, 0, _OFFSET_ARCH),
      _insn(_BPF_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
      _insn(_BPF_RET_K, 0, 0, _SECCOMP_RET_KILL_PROCESS),
      _insn(_BPF_LD_W_ABS, 0, 0, _OFFSET_NR),
      # x32 syscalls reuse x86_64 handlers under other numbers: refuse them all.
      _insn(_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT),
      _insn(_BPF_RET_K, 0, 0, deny),
  ]
  return b"".join(program + _search(_intervals()))


class _SockFprog(ctypes.Structure):
  _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: bytes) -> None:
  """Installs `program` on the calling thread; irreversible, inherited by any child."""
  libc = _libc
  buffer = ctypes.create_string_buffer(program, len(program))
  fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
  if libc.prctl(_PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0 or libc.prctl(
      _PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0) != 0:
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err))
