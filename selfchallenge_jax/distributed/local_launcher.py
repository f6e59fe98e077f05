"""Starts N local processes that act as the N hosts of one multi-host JAX run on this machine.

Each child gets a simulated CPU device count (XLA_FLAGS), the coordinator address on localhost and
its process id (the environment selfchallenge_jax.distributed.initialize reads), and its own
process group, so its sandbox workers go down with it. Their output is streamed with a
`[p<i>]` prefix. When a child fails the others are stopped (they would otherwise block in their
next collective until jax's heartbeat timeout) and the launcher reports which one failed first.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Sequence, TextIO

from selfchallenge_jax.distributed.runtime import (ENV_COORDINATOR, ENV_NUM_PROCESSES,
                                                   ENV_PROCESS_ID)

_DEVICE_COUNT_FLAG = re.compile(r"--xla_force_host_platform_device_count=\S+")
# Gloo's per-collective connection notices (one line per rank per new communicator) drown the log.
# (Two threads may write them at once, so match the notice anywhere in a line.)
_GLOO_NOISE = re.compile(r"is connected to \d+ peer ranks\. Expected number of connected peer ranks")
_STOP_GRACE_S = 10.0


@dataclasses.dataclass(frozen=True)
class LaunchResult:
  returncodes: list[int]            # per process (negative: stopped by that signal)
  failed: int | None                # the first process seen failing
  timed_out: bool = False

  @property
  def ok(self) -> bool:
    return self.failed is None and not self.timed_out


def free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def child_env(base: dict[str, str], *, process_id: int, num_processes: int,
              devices_per_process: int, coordinator: str) -> dict[str, str]:
  """`base` with this child's device count, coordinator and process id (other XLA flags kept)."""
  env = dict(base)
  flags = _DEVICE_COUNT_FLAG.sub("", env.get("XLA_FLAGS", "")).split()
  env["XLA_FLAGS"] = " ".join(flags + [
      f"--xla_force_host_platform_device_count={devices_per_process}"])
  env["JAX_PLATFORMS"] = "cpu"
  env[ENV_COORDINATOR] = coordinator
  env[ENV_NUM_PROCESSES] = str(num_processes)
  env[ENV_PROCESS_ID] = str(process_id)
  return env


def program_argv(program: str, args: Sequence[str]) -> list[str]:
  """`python -m program args` for a module name, `python program args` for a .py path."""
  if program.endswith(".py"):
    return [sys.executable, program, *args]
  return [sys.executable, "-m", program, *args]


def _stream(index: int, pipe, out: TextIO, lock: threading.Lock) -> None:
  for line in pipe:
    if _GLOO_NOISE.search(line):
      continue
    with lock:
      out.write(f"[p{index}] {line}")
      out.flush()
  pipe.close()


def _stop(procs: list[subprocess.Popen]) -> None:
  """SIGTERM to every still-running child's process group, SIGKILL after a grace period."""
  running = [p for p in procs if p.poll() is None]
  for p in running:
    try:
      os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
      pass
  deadline = time.monotonic() + _STOP_GRACE_S
  for p in running:
    try:
      p.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
      try:
        os.killpg(p.pid, signal.SIGKILL)
      except ProcessLookupError:
        pass
      p.wait()


def run_local_processes(program: str, args: Sequence[str], *, num_processes: int,
                        devices_per_process: int, port: int | None = None,
                        timeout_s: float | None = None, cwd: str | None = None,
                        out: TextIO = sys.stdout) -> LaunchResult:
  """Runs `program args` as processes 0..N-1 of one jax.distributed run; waits for all of them."""
  if num_processes < 1 or devices_per_process < 1:
    raise ValueError(f"num_processes ({num_processes}) and devices_per_process "
                     f"({devices_per_process}) must be >= 1")
  coordinator = f"127.0.0.1:{port or free_port()}"
  lock = threading.Lock()
  procs: list[subprocess.Popen] = []
  threads = []
  failed, timed_out = None, False
  try:
    for i in range(num_processes):
      env = child_env(dict(os.environ), process_id=i, num_processes=num_processes,
                      devices_per_process=devices_per_process, coordinator=coordinator)
      p = subprocess.Popen(program_argv(program, args), env=env, cwd=cwd, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1,
                           start_new_session=True)
      procs.append(p)
      t = threading.Thread(target=_stream, args=(i, p.stdout, out, lock), daemon=True)
      t.start()
      threads.append(t)
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while failed is None and not timed_out and any(p.poll() is None for p in procs):
      failed = next((i for i, p in enumerate(procs) if p.poll() not in (None, 0)), None)
      timed_out = deadline is not None and time.monotonic() > deadline
      time.sleep(0.1)
    if failed is None:
      failed = next((i for i, p in enumerate(procs) if p.poll() not in (None, 0)), None)
  finally:
    _stop(procs)
    for t in threads:
      t.join(timeout=5)
  codes = [p.returncode for p in procs]
  with lock:
    if timed_out:
      out.write(f"[launcher] timed out after {timeout_s:.0f}s; stopped all processes "
                f"(exit codes {codes})\n")
    elif failed is not None:
      out.write(f"[launcher] process {failed} of {num_processes} failed first (exit codes "
                f"{codes}); the others were stopped\n")
  return LaunchResult(codes, failed, timed_out)
