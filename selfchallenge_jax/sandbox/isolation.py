"""Isolation levels: what a pool's workers proved they can enforce on this host."""

from __future__ import annotations

import enum
from typing import Mapping

LAYERS = ("rlimits", "uid", "netns", "landlock", "seccomp", "tmpfs")


class IsolationLevel(enum.IntEnum):
  """Ordered levels; each includes the ones below.

  BASIC:   rlimits (CPU, memory, files, output), own process group, wall deadline, empty env.
  PROCESS: + children cannot signal or read the pool, the workers or other tasks: a non-root uid
           per worker (needs root) or Landlock signal scoping (ABI >= 6) with a Landlock file policy.
  NETWORK: + no network: a network namespace or the seccomp socket filter.
  STRICT:  + seccomp (no fork/exec/sockets/ptrace/namespaces) and Landlock (writes only in the
           task's temp dir, reads only the Python library).
  `tmpfs` (a fresh size- and inode-capped tmpfs as each task's temp dir, needs mount rights) is
  reported but not part of a level: without it each task still gets a fresh directory, but its
  disk use is capped per file only (max_output_bytes).
  """
  NONE = 0
  BASIC = 1
  PROCESS = 2
  NETWORK = 3
  STRICT = 4


def level_of(layers: Mapping[str, bool], landlock_abi: int) -> IsolationLevel:
  """The highest level whose layers are all present."""
  if not layers.get("rlimits"):
    return IsolationLevel.NONE
  process = layers.get("uid") or (layers.get("landlock") and landlock_abi >= 6)
  if not process:
    return IsolationLevel.BASIC
  if not (layers.get("netns") or layers.get("seccomp")):
    return IsolationLevel.PROCESS
  if not (layers.get("seccomp") and layers.get("landlock")):
    return IsolationLevel.NETWORK
  return IsolationLevel.STRICT


def describe(layers: Mapping[str, bool], landlock_abi: int) -> str:
  parts = [f"{name}={'on' if layers.get(name) else 'off'}" for name in LAYERS]
  return ", ".join(parts) + f" (landlock ABI {landlock_abi})"


class SandboxUnavailableError(RuntimeError):
  """The host cannot provide the configured minimum isolation level."""
