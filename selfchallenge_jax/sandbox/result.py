"""Typed outcomes of a sandboxed call."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any


class Status(str, enum.Enum):
  RETURNED = "returned"   # run(): the function returned a JSON value (see `value`)
  PASSED = "passed"       # verify(): returned True
  FAILED = "failed"       # verify(): returned False
  ERROR = "error"         # see `error_kind`
  TIMEOUT = "timeout"     # CPU or wall limit


class ErrorKind(str, enum.Enum):
  SYNTAX = "syntax"                      # the source does not compile
  EXCEPTION = "exception"                # raised (see exception_type), incl. RecursionError
  MISSING_FUNCTION = "missing_function"  # no callable of that name after executing the source
  MEMORY = "memory"                      # MemoryError under the address-space limit
  OUTPUT_TOO_LARGE = "output_too_large"  # stdout/stderr or a written file reached the cap
  RESULT_TOO_LARGE = "result_too_large"  # the encoded return value exceeds the cap
  BAD_RETURN_TYPE = "bad_return_type"    # not JSON-serializable, or verify() got a non-bool
  BAD_INPUT = "bad_input"                # kwargs not JSON-serializable or too large
  EXIT = "exit"                          # sys.exit / os._exit before returning
  CRASHED = "crashed"                    # killed by a signal (e.g. SIGSEGV, kill(0, SIGKILL))
  SANDBOX_SETUP = "sandbox_setup"        # a confinement step failed: the code did not run
  WORKER_LOST = "worker_lost"            # the worker died or hung; it has been replaced


@dataclasses.dataclass(frozen=True)
class SandboxResult:
  status: Status
  value: Any = None
  error_kind: ErrorKind | None = None
  exception_type: str = ""
  message: str = ""
  output: str = ""        # tail of the code's stdout+stderr

  @property
  def passed(self) -> bool:
    return self.status is Status.PASSED

  def as_verdict(self) -> "SandboxResult":
    """Maps a returned bool to PASSED/FAILED; any other returned value is a BAD_RETURN_TYPE error."""
    if self.status is not Status.RETURNED:
      return self
    if self.value is True:
      return dataclasses.replace(self, status=Status.PASSED)
    if self.value is False:
      return dataclasses.replace(self, status=Status.FAILED)
    return dataclasses.replace(
        self, status=Status.ERROR, error_kind=ErrorKind.BAD_RETURN_TYPE,
        message=f"verify must return a bool, got {type(self.value).__name__}")

  @classmethod
  def error(cls, kind: ErrorKind, message: str) -> "SandboxResult":
    return cls(status=Status.ERROR, error_kind=kind, message=message)

  @classmethod
  def from_wire(cls, reply: Any) -> "SandboxResult":
    """Validates a worker's reply; anything malformed becomes a WORKER_LOST error."""
    try:
      status = Status(reply["status"])
      kind = ErrorKind(reply["error_kind"]) if reply.get("error_kind") else None
      texts = [reply.get(k, "") for k in ("exception_type", "message", "output")]
      if status is Status.PASSED or status is Status.FAILED or not all(
          isinstance(t, str) for t in texts) or (status is Status.ERROR) != (kind is not None):
        raise ValueError("inconsistent reply")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
      return cls.error(ErrorKind.WORKER_LOST, f"malformed worker reply: {e}")
    return cls(status=status, value=reply.get("value") if status is Status.RETURNED else None,
               error_kind=kind, exception_type=texts[0], message=texts[1], output=texts[2])
