"""SandboxPool: run untrusted Python functions in confined, pre-warmed worker processes.

    with SandboxPool(num_workers=2, limits=SandboxLimits(cpu_s=2, wall_s=4)) as pool:
      pool.verify(source, state, answer, messages)          # -> SandboxResult PASSED/FAILED/...
      pool.run(source, "solve", {"x": 3})                  # -> SandboxResult RETURNED, value=...
      pool.map([Job(source, "verify", kwargs), ...])       # parallel, results in order

Each worker is a fresh `python -I -S` interpreter with an empty environment; it forks one child per
task, which confines itself (see child.py) before running the code. kwargs travel to the child with
marshal (plain data only; the child gets its own copy); results come back as size-capped JSON. The pool probes at start-up
which layers the host allows, logs the level reached and refuses to run below `min_isolation`.
Workers that die or hang are replaced; the task they held reports WORKER_LOST.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import json
import marshal
import os
import queue
import shutil
import tempfile
import threading
import weakref
from typing import Any, Iterable, Sequence

from absl import logging

from selfchallenge_jax.sandbox.isolation import (LAYERS, IsolationLevel, SandboxUnavailableError,
                                                 describe, level_of)
from selfchallenge_jax.sandbox.limits import SandboxLimits
from selfchallenge_jax.sandbox.result import ErrorKind, SandboxResult
from selfchallenge_jax.sandbox.worker_handle import WorkerHandle, WorkerLost

_MAX_WORKERS = 64
_UID_BASE = 100_000
_pool_counter = itertools.count()


@dataclasses.dataclass(frozen=True)
class Job:
  """One call: `function(**kwargs)` after executing `source`."""
  source: str
  function: str
  kwargs: dict[str, Any]

  @classmethod
  def verify(cls, source: str, state: dict[str, Any], answer: str,
             messages: list[Any]) -> "Job":
    """The documented verifier call: verify(state: dict, answer: str, messages: list) -> bool."""
    return cls(source, "verify", {"state": state, "answer": answer, "messages": messages})


def _default_uid_base() -> int:
  # Unique per live pool on this machine (pids are unique at any moment), so two pools never share
  # a child uid and cannot signal each other's children.
  slot = (os.getpid() % 1_000_000) * 8 + next(_pool_counter) % 8
  return _UID_BASE + slot * _MAX_WORKERS


class SandboxPool:
  """A fixed set of workers; thread-safe; use as a context manager or call close()."""

  def __init__(self, num_workers: int | None = None, limits: SandboxLimits = SandboxLimits(),
               min_isolation: IsolationLevel = IsolationLevel.STRICT,
               uid_base: int | None = None, disable_layers: Sequence[str] = ()) -> None:
    """`disable_layers` (names from isolation.LAYERS) switches layers off, e.g. to debug a host;
    the level check still applies, so disabling one needs a matching `min_isolation`."""
    num_workers = num_workers or os.cpu_count() or 1
    if not 1 <= num_workers <= _MAX_WORKERS:
      raise ValueError(f"num_workers must be in [1, {_MAX_WORKERS}], got {num_workers}")
    self.limits = limits
    self.min_isolation = IsolationLevel(min_isolation)
    self._root = tempfile.mkdtemp(prefix="selfchallenge_sandbox_")
    os.chmod(self._root, 0o711)   # children may traverse to their own dir, not list others
    unknown = set(disable_layers) - set(LAYERS[1:])
    if unknown:   # rlimits are not optional: they are the floor of every level
      raise ValueError(f"cannot disable {sorted(unknown)}; optional layers: {LAYERS[1:]}")
    layers_wanted = [layer for layer in LAYERS if layer not in disable_layers]
    uid_base = _default_uid_base() if uid_base is None else uid_base
    self._workers: list[WorkerHandle] = []
    for index in range(num_workers):
      workdir = os.path.join(self._root, f"w{index}")
      os.mkdir(workdir, 0o700)
      self._workers.append(WorkerHandle(index, uid_base + index, workdir, limits, layers_wanted))
    self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._root)
    self._idle: queue.Queue[WorkerHandle] = queue.Queue()
    self._executor: concurrent.futures.ThreadPoolExecutor | None = None
    self._lock = threading.Lock()
    self._closed = False
    try:
      for worker in self._workers:
        worker.start()
      levels = [self._check_hello(worker, worker.handshake()) for worker in self._workers]
    except BaseException:
      self.close()
      raise
    self.isolation_level = min(levels)
    self.layers = dict(self._workers[0].hello["layers"])
    for worker in self._workers:
      self._idle.put(worker)

  def _check_hello(self, worker: WorkerHandle, hello: dict[str, Any]) -> IsolationLevel:
    level = level_of(hello["layers"], hello["landlock_abi"])
    text = describe(hello["layers"], hello["landlock_abi"])
    if level < self.min_isolation:
      raise SandboxUnavailableError(
          f"sandbox worker {worker.index} reached isolation {level.name} ({text}), below the "
          f"required {self.min_isolation.name}. Probe notes: {hello.get('message') or 'none'}. "
          "Run as root on Linux with Landlock and seccomp, or lower min_isolation knowingly.")
    if worker.index == 0:
      logging.info("Sandbox isolation level %s: %s", level.name, text)
    return level

  # ---- calls ----------------------------------------------------------------------------------
  def run(self, source: str, function: str, kwargs: dict[str, Any]) -> SandboxResult:
    """Executes `source`, then `function(**kwargs)` on a fresh copy of kwargs, in a confined child."""
    if not isinstance(kwargs, dict):
      raise TypeError(f"kwargs must be a dict, got {type(kwargs).__name__}")
    try:
      # The child receives a fresh copy: marshal is ~4x cheaper than JSON for large states and
      # refuses anything but plain data (dict/list/tuple/str/bytes/int/float/bool/None/set).
      kwargs_blob = marshal.dumps(kwargs)
      header = json.dumps({"source": str(source), "function": str(function)}).encode()
    except (TypeError, ValueError, RecursionError) as e:
      return SandboxResult.error(ErrorKind.BAD_INPUT, f"kwargs are not plain data: {e}")
    if len(kwargs_blob) > self.limits.max_request_bytes:
      return SandboxResult.error(ErrorKind.BAD_INPUT, f"kwargs of {len(kwargs_blob)} bytes exceed "
                                 f"max_request_bytes={self.limits.max_request_bytes}")
    if self._closed:
      raise RuntimeError("SandboxPool is closed")
    worker = self._idle.get()
    try:
      for attempt in range(2):
        try:
          if not worker.alive():
            self._replace(worker)
          return SandboxResult.from_wire(worker.call(header, kwargs_blob))
        except WorkerLost as e:
          logging.warning("Sandbox worker %d lost (%s); replacing it.", worker.index, e)
          if not e.retryable or attempt == 1:
            return SandboxResult.error(ErrorKind.WORKER_LOST, str(e))
        except (OSError, SandboxUnavailableError) as e:
          logging.error("Sandbox worker %d could not be restarted: %s", worker.index, e)
          return SandboxResult.error(ErrorKind.WORKER_LOST, str(e))
      raise AssertionError("unreachable")
    finally:
      self._idle.put(worker)

  def verify(self, source: str, state: dict[str, Any], answer: str,
             messages: list[Any]) -> SandboxResult:
    """Calls `verify(state, answer, messages)` in `source`: PASSED / FAILED / ERROR / TIMEOUT."""
    job = Job.verify(source, state, answer, messages)
    return self.run(job.source, job.function, job.kwargs).as_verdict()

  def map(self, jobs: Iterable[Job]) -> list[SandboxResult]:
    """Runs jobs in parallel over all workers; results in job order."""
    jobs = list(jobs)
    if len(jobs) <= 1:
      return [self.run(job.source, job.function, job.kwargs) for job in jobs]
    with self._lock:
      if self._executor is None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(self._workers), thread_name_prefix="sandbox")
    return list(self._executor.map(lambda job: self.run(job.source, job.function, job.kwargs),
                                   jobs))

  def verify_map(self, jobs: Sequence[Job]) -> list[SandboxResult]:
    """map() for verifier jobs, with each result turned into a verdict."""
    return [result.as_verdict() for result in self.map(jobs)]

  # ---- lifecycle ------------------------------------------------------------------------------
  def _replace(self, worker: WorkerHandle) -> None:
    worker.kill()
    try:
      worker.start()
      self._check_hello(worker, worker.handshake())
    except BaseException:
      worker.kill()   # never leave a half-started worker that looks alive
      raise

  @property
  def worker_pids(self) -> list[int | None]:
    return [worker.pid for worker in self._workers]

  def close(self) -> None:
    """Kills every worker (and so every child) and removes the temp dirs. Idempotent."""
    self._closed = True
    if self._executor is not None:
      self._executor.shutdown(wait=True)
    self._finalizer()

  def __enter__(self) -> "SandboxPool":
    return self

  def __exit__(self, *exc: Any) -> None:
    self.close()


def _shutdown(workers: list[WorkerHandle], root: str) -> None:
  for worker in workers:
    worker.kill()
  shutil.rmtree(root, ignore_errors=True)
