"""Length-prefixed frames over pipes, with size caps and deadlines; shared by the pool and its workers.

Both ends use raw file descriptors so that a deadline always bounds a read or a write: a hung or
stopped peer must never block the pool. Only bytes cross the pipe; callers decode size-capped JSON
(never pickle) because the other end may have been compromised.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import os
import select
import struct
import time

_HEADER = struct.Struct(">Q")

#: What one task's reply may take in the worker's reply frame, as JSON the worker writes and the
#: pool re-parses: its value at most 2 x max_result_bytes encoded, nested at most
#: MAX_RESULT_DEPTH deep, and its text fields (message, output tail, exception type) at most
#: REPLY_TEXT_BYTES together. The worker enforces these on each reply, so only the offending job
#: fails; the pool sizes its read from them.
MAX_RESULT_DEPTH = 64
REPLY_TEXT_BYTES = 16 << 10


class ProtocolError(Exception):
  """The peer closed the pipe, sent an oversized frame, or missed the deadline."""


class DeadlineExceeded(ProtocolError):
  """The peer did not complete a frame before the deadline."""


def _wait(fd: int, for_write: bool, deadline: float | None) -> None:
  timeout = None if deadline is None else deadline - time.monotonic()
  if timeout is not None and timeout <= 0:
    raise DeadlineExceeded("deadline exceeded")
  poller = select.poll()
  poller.register(fd, select.POLLOUT if for_write else select.POLLIN)
  if not poller.poll(None if timeout is None else max(1, int(timeout * 1000))):
    raise DeadlineExceeded("deadline exceeded")


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
  chunks = []
  remaining = n
  while remaining:
    _wait(fd, False, deadline)
    try:
      chunk = os.read(fd, min(remaining, 1 << 20))
    except BlockingIOError:
      continue
    if not chunk:
      raise ProtocolError("peer closed the pipe")
    chunks.append(chunk)
    remaining -= len(chunk)
  return b"".join(chunks)


def read_frame(fd: int, max_bytes: int, deadline: float | None = None) -> bytes:
  """Reads one frame; raises ProtocolError on EOF, an oversized frame or a missed deadline."""
  (length,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
  if length > max_bytes:
    raise ProtocolError(f"frame of {length} bytes exceeds the cap of {max_bytes}")
  return _read_exact(fd, length, deadline)


def write_frame(fd: int, payload: bytes, deadline: float | None = None) -> None:
  """Writes one frame; with a deadline the fd must be non-blocking so a full pipe cannot hang us."""
  view = memoryview(_HEADER.pack(len(payload)) + payload)
  while view:
    _wait(fd, True, deadline)
    try:
      written = os.write(fd, view)
    except BlockingIOError:
      continue
    except BrokenPipeError as e:
      raise ProtocolError("peer closed the pipe") from e
    view = view[written:]
