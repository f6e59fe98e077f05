"""Resource limits for one sandboxed call."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, kw_only=True)
class SandboxLimits:
  """Per-call limits; the defaults suit verifiers that read a state and return a bool.

  cpu_s is enforced by RLIMIT_CPU (whole seconds, rounded up); wall_s by the worker, because
  RLIMIT_CPU does not stop a sleeping child. max_output_bytes caps stdout+stderr and every file the
  code writes in its temp dir; max_result_bytes caps the JSON-encoded return value;
  max_request_bytes caps the encoded kwargs (a full retail database is a few MB).
  max_disk_bytes / max_disk_files cap a task's whole temp dir (a fresh tmpfs per task, where the
  host allows mounts: the pool's `layers["tmpfs"]`); tmpfs pages are host memory, so keep it small.
  """
  cpu_s: float = 5.0
  wall_s: float = 10.0
  memory_bytes: int = 512 << 20
  max_open_files: int = 64
  max_output_bytes: int = 1 << 20
  max_result_bytes: int = 64 << 10
  max_request_bytes: int = 64 << 20
  max_disk_bytes: int = 16 << 20
  max_disk_files: int = 1024

  def __post_init__(self) -> None:
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"SandboxLimits.{field.name} must be a positive number, got {value!r}")
    if self.max_open_files < 8:
      raise ValueError("SandboxLimits.max_open_files must be >= 8 (the child needs a few fds)")
    if self.memory_bytes < 64 << 20:
      raise ValueError("SandboxLimits.memory_bytes must be >= 64 MiB (the interpreter itself)")

  def to_wire(self) -> dict[str, Any]:
    return dataclasses.asdict(self)
