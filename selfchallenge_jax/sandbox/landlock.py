"""Landlock via raw syscalls (ctypes): confine file access, TCP and signals without root.

A worker builds one ruleset at start-up (read-only: the Python library directories; read-write: its
private work directory) and every task child calls `restrict_self` on it before running untrusted
code. Rights the kernel's ABI does not know are left out, so the same code runs on older kernels.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import ctypes
import os
import struct
from typing import Iterable

_SYS_CREATE_RULESET = 444   # same numbers on x86_64 and aarch64 (unified syscall table)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
SYS_RESTRICT_SELF = _SYS_RESTRICT_SELF
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# Filesystem rights (linux/landlock.h) and the ABI that introduced the later ones.
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_ABI1 = (1 << 13) - 1                 # execute .. make_sym
_FS_REFER = 1 << 13                      # ABI 2
_FS_TRUNCATE = 1 << 14                   # ABI 3
_FS_IOCTL_DEV = 1 << 15                  # ABI 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_BLOCK = 1 << 11
_NET_BIND_TCP = 1 << 0                   # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0     # ABI 6
_SCOPE_SIGNAL = 1 << 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int
_PR_SET_NO_NEW_PRIVS = 38


def _syscall(*args: int | bytes | None) -> int:
  result = _libc.syscall(*args)
  if result < 0:
    errno = ctypes.get_errno()
    raise OSError(errno, os.strerror(errno))
  return result


def abi_version() -> int:
  """Landlock ABI the kernel supports; 0 when Landlock is absent or disabled."""
  try:
    return _syscall(_SYS_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
  except OSError:
    return 0


def _handled_fs(abi: int) -> int:
  rights = _FS_ABI1
  if abi >= 2:
    rights |= _FS_REFER
  if abi >= 3:
    rights |= _FS_TRUNCATE
  if abi >= 5:
    rights |= _FS_IOCTL_DEV
  return rights


def scopes_signals(abi: int) -> bool:
  """ABI 6 confines signals to the domain: a child cannot signal the worker or other tasks."""
  return abi >= 6


def make_ruleset(read_paths: Iterable[str], write_paths: Iterable[str]) -> int:
  """Returns a ruleset fd: read (and import) under read_paths, anything but exec under write_paths.

  Everything else is denied: other files, TCP bind/connect (ABI >= 4), abstract unix sockets and
  signals to processes outside the domain (ABI >= 6).
  """
  abi = abi_version()
  if abi <= 0:
    raise OSError("Landlock is not available")
  handled_fs = _handled_fs(abi)
  attr = struct.pack("<Q", handled_fs)
  if abi >= 4:
    attr += struct.pack("<Q", _NET_BIND_TCP | _NET_CONNECT_TCP)
  if abi >= 6:
    attr += struct.pack("<Q", _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL)
  ruleset_fd = _syscall(_SYS_CREATE_RULESET, attr, len(attr), 0)
  read_rights = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
  write_rights = handled_fs & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_BLOCK)
  try:
    for paths, rights in ((read_paths, read_rights), (write_paths, write_rights)):
      for path in paths:
        _add_path_rule(ruleset_fd, path, rights)
  except BaseException:
    os.close(ruleset_fd)
    raise
  return ruleset_fd


def _add_path_rule(ruleset_fd: int, path: str, rights: int) -> None:
  fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
  try:
    if not os.path.isdir(path):
      # Rights that only make sense on directories are rejected for a file rule.
      rights &= _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
    # struct landlock_path_beneath_attr is packed: u64 allowed_access, s32 parent_fd.
    attr = struct.pack("<Qi", rights, fd)
    _syscall(_SYS_ADD_RULE, ruleset_fd, _RULE_PATH_BENEATH, attr, 0)
  finally:
    os.close(fd)


def restrict_self(ruleset_fd: int) -> None:
  """Enforces the ruleset on the calling process and its future children; irreversible."""
  if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    errno = ctypes.get_errno()
    raise OSError(errno, os.strerror(errno))
  _syscall(_SYS_RESTRICT_SELF, ruleset_fd, 0)
