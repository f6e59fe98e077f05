"""The pool's side of one worker process: start, handshake, send a task, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from selfchallenge_jax.sandbox import kwargs_codec, protocol
from selfchallenge_jax.sandbox.limits import SandboxLimits
from selfchallenge_jax.sandbox.spawner import run_in_spawner

# Registers the two packages without running their __init__ (which imports absl from
# site-packages, unavailable under -S), then runs the worker loop.
_BOOTSTRAP = """
import sys, types
root = sys.argv[1]
for name, path in (("selfchallenge_jax", root + "/selfchallenge_jax"),
                   ("selfchallenge_jax.sandbox", root + "/selfchallenge_jax/sandbox")):
  module = types.ModuleType(name)
  module.__path__ = [path]
  sys.modules[name] = module
from selfchallenge_jax.sandbox import zygote
zygote.main()
"""
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_MAX_REPLY = 1 << 20
_START_TIMEOUT_S = 60.0    # interpreter start + preload + probe; generous on a loaded machine
_REPLY_GRACE_S = 5.0       # worker overhead on top of the tasks' wall limits
_PER_TASK_GRACE_S = 0.5    # fork, reap and reset per task in a batch
# Decoded kwargs take ~5x their marshal size; kwargs that could exceed memory_bytes at 8x are
# decoded by the child, under its RLIMIT_AS, rather than by the (unlimited) worker.
_DECODED_PER_BYTE = 8


class WorkerLost(Exception):
  """The worker died, hung or spoke garbage; the caller replaces it.

  `retryable`: the worker was found dead (closed pipe) rather than hung, e.g. killed while idle;
  the task is worth one more try on a fresh worker.
  """

  def __init__(self, message: str, retryable: bool = False) -> None:
    super().__init__(message)
    self.retryable = retryable


class WorkerHandle:
  def __init__(self, index: int, uid: int, workdir: str, limits: SandboxLimits,
               layers_wanted: list[str]) -> None:
    self.index = index
    self.uid = uid
    self.workdir = workdir
    self.limits = limits
    self.layers_wanted = layers_wanted
    self.proc: subprocess.Popen[bytes] | None = None
    self.hello: dict[str, Any] = {}
    self.parts = kwargs_codec.WorkerParts()   # what the worker holds decoded

  @property
  def pid(self) -> int | None:
    return self.proc.pid if self.proc is not None else None

  def alive(self) -> bool:
    return self.proc is not None and self.proc.poll() is None

  def start(self) -> None:
    """Launches the interpreter and sends its config; `handshake` collects the probe result."""
    self.parts.reset()
    # Forked from the spawner thread: the worker dies with the thread that forked it (PDEATHSIG).
    self.proc = run_in_spawner(lambda: subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _BOOTSTRAP, _REPO_ROOT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={}, cwd=self.workdir,
        start_new_session=True, close_fds=True, bufsize=0))
    for stream in (self.proc.stdin, self.proc.stdout):
      os.set_blocking(stream.fileno(), False)
    config = {"uid": self.uid, "workdir": self.workdir, "limits": self.limits.to_wire(),
              "layers_wanted": self.layers_wanted}
    self._send(json.dumps(config).encode(), time.monotonic() + _START_TIMEOUT_S)

  def handshake(self) -> dict[str, Any]:
    hello = self._receive(time.monotonic() + _START_TIMEOUT_S)
    if not (isinstance(hello, dict) and isinstance(hello.get("layers"), dict)
            and isinstance(hello.get("landlock_abi"), int)):
      raise WorkerLost(f"worker {self.index} sent a malformed hello")
    self.hello = hello
    return hello

  def call(self, sources: list[str],
           tasks: list[tuple[int, str, kwargs_codec.Encoded]]) -> list[Any]:
    """Sends one batch and returns one reply per task; `tasks`: (source index, function, kwargs).

    Parts of the kwargs the worker already holds are referenced, not sent (kwargs_codec). Raises
    WorkerLost (and kills the worker) on failure. The reply deadline allows every task its full
    wall limit, as the worker runs them one after another.
    """
    in_child = [encoded.size * _DECODED_PER_BYTE > self.limits.memory_bytes
                for _, _, encoded in tasks]
    drop, stores, planned = self.parts.plan(
        [encoded for (_, _, encoded), whole in zip(tasks, in_child) if not whole])
    planned_frames = iter(planned)
    frames = [kwargs_codec.inline(encoded) if whole else next(planned_frames)
              for (_, _, encoded), whole in zip(tasks, in_child)]
    header = json.dumps({
        "sources": sources,
        "tasks": [[index, function, whole] for (index, function, _), whole in zip(tasks, in_child)],
        "drop": drop, "store": [[slot, keep] for slot, keep, _ in stores]}).encode()
    count = len(tasks)
    budget = count * (self.limits.wall_s + _PER_TASK_GRACE_S) + _REPLY_GRACE_S
    try:
      send_deadline = time.monotonic() + budget
      self._send(header, send_deadline)
      for _, _, blob in stores:
        self._send(blob, send_deadline)
      for frame in frames:
        self._send(frame, send_deadline)
      replies = self._receive(time.monotonic() + budget,
                              _MAX_REPLY + count * (2 * self.limits.max_result_bytes
                                                  + protocol.REPLY_TEXT_BYTES))
    except WorkerLost:
      self.kill()
      raise
    if not isinstance(replies, list) or len(replies) != count:
      self.kill()
      raise WorkerLost(f"worker {self.index} sent {type(replies).__name__} for {count} tasks")
    return replies

  def _send(self, payload: bytes, deadline: float) -> None:
    assert self.proc is not None and self.proc.stdin is not None
    try:
      protocol.write_frame(self.proc.stdin.fileno(), payload, deadline)
    except (protocol.ProtocolError, OSError) as e:
      raise WorkerLost(f"worker {self.index}: {e}",
                       retryable=not isinstance(e, protocol.DeadlineExceeded)) from e

  def _receive(self, deadline: float, max_bytes: int = _MAX_REPLY) -> Any:
    assert self.proc is not None and self.proc.stdout is not None
    try:
      return json.loads(protocol.read_frame(self.proc.stdout.fileno(), max_bytes, deadline))
    except (protocol.ProtocolError, OSError) as e:
      raise WorkerLost(f"worker {self.index}: {e}",
                       retryable=not isinstance(e, protocol.DeadlineExceeded)) from e
    except (ValueError, RecursionError) as e:
      raise WorkerLost(f"worker {self.index} sent malformed JSON: {e}") from e

  def kill(self) -> None:
    """Kills the worker's process group; its task children die with it (parent-death signal)."""
    self.parts.reset()
    if self.proc is None:
      return
    try:
      os.killpg(self.proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
      pass
    self.proc.wait()
    for stream in (self.proc.stdin, self.proc.stdout):
      if stream is not None:
        stream.close()
    self.proc = None
