"""SandboxPool: run untrusted Python functions in confined, pre-warmed worker processes.

    with SandboxPool(num_workers=2, limits=SandboxLimits(cpu_s=2, wall_s=4)) as pool:
      pool.verify(source, state, answer, messages)          # -> SandboxResult PASSED/FAILED/...
      pool.run(source, "solve", {"x": 3})                  # -> SandboxResult RETURNED, value=...
      pool.map([Job(source, "verify", kwargs), ...])       # parallel, results in order

Each worker is a fresh `python -I -S` interpreter with an empty environment; it forks one child per
task, which confines itself (see child.py) before running the code. kwargs travel to the worker with
marshal (plain data only; see kwargs_codec.py: each distinct object of one call is encoded once,
and large parts a worker still holds are not sent again), are decoded there, and each child
inherits its own copy-on-write copy; results come back as size-capped JSON. Jobs of one map()
travel in chunks (one round trip each), but every job runs in its own child. The pool probes at
start-up which layers the host allows, logs the level reached and refuses to run below
`min_isolation`.
Workers that die or hang are replaced; the task they held reports WORKER_LOST.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import os
import queue
import threading
import weakref
from typing import Any, Iterable, Sequence

from absl import logging

from selfchallenge_jax.sandbox import kwargs_codec
from selfchallenge_jax.sandbox.isolation import (LAYERS, IsolationLevel, SandboxUnavailableError,
                                                 describe, level_of)
from selfchallenge_jax.sandbox.limits import SandboxLimits
from selfchallenge_jax.sandbox.pool_root import PoolRoot
from selfchallenge_jax.sandbox.result import ErrorKind, SandboxResult
from selfchallenge_jax.sandbox.worker_handle import WorkerHandle, WorkerLost

_MAX_WORKERS = 64
_MAX_CHUNK = 16
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
    unknown = set(disable_layers) - set(LAYERS[1:])
    if unknown:   # rlimits are not optional: they are the floor of every level
      raise ValueError(f"cannot disable {sorted(unknown)}; optional layers: {LAYERS[1:]}")
    layers_wanted = [layer for layer in LAYERS if layer not in disable_layers]
    uid_base = _default_uid_base() if uid_base is None else uid_base
    # Also removes the roots of pools that died without closing (pool_root.py).
    self._root = PoolRoot()
    self._workers: list[WorkerHandle] = []
    self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._root)
    for index in range(num_workers):
      workdir = os.path.join(self._root.path, f"w{index}")
      os.mkdir(workdir, 0o700)
      self._workers.append(WorkerHandle(index, uid_base + index, workdir, limits, layers_wanted))
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
    return self._run_encoded(self._encode_all([Job(source, function, kwargs)]))[0]

  def _encode_all(self, jobs: Sequence[Job]) -> list[_Task | SandboxResult]:
    """Encodes every job's kwargs (each distinct object once); BAD_INPUT results for the rest."""
    encoder = kwargs_codec.Encoder()
    return [_encode(job, encoder, self.limits.max_request_bytes) for job in jobs]

  def _run_encoded(self, items: Sequence[_Task | SandboxResult]) -> list[SandboxResult]:
    """Runs the encoded jobs on one worker in one round trip; each still gets its own child."""
    results = list(items)
    tasks = [(i, item) for i, item in enumerate(items) if isinstance(item, _Task)]
    if tasks:
      for (i, _), result in zip(tasks, self._call_worker([task for _, task in tasks])):
        results[i] = result
    return results   # type: ignore[return-value]

  def _call_worker(self, tasks: list[_Task]) -> list[SandboxResult]:
    sources: dict[str, int] = {}
    for task in tasks:
      sources.setdefault(task.source, len(sources))
    wire = [(sources[task.source], task.function, task.kwargs) for task in tasks]
    if self._closed:
      raise RuntimeError("SandboxPool is closed")
    worker = self._idle.get()
    try:
      for attempt in range(2):
        try:
          if not worker.alive():
            self._replace(worker)
          replies = worker.call(list(sources), wire)
          return [SandboxResult.from_wire(reply) for reply in replies]
        except WorkerLost as e:
          logging.warning("Sandbox worker %d lost (%s); replacing it.", worker.index, e)
          if not e.retryable or attempt == 1:
            return [SandboxResult.error(ErrorKind.WORKER_LOST, str(e))] * len(tasks)
        except (OSError, SandboxUnavailableError) as e:
          logging.error("Sandbox worker %d could not be restarted: %s", worker.index, e)
          return [SandboxResult.error(ErrorKind.WORKER_LOST, str(e))] * len(tasks)
      raise AssertionError("unreachable")
    finally:
      self._idle.put(worker)

  def verify(self, source: str, state: dict[str, Any], answer: str,
             messages: list[Any]) -> SandboxResult:
    """Calls `verify(state, answer, messages)` in `source`: PASSED / FAILED / ERROR / TIMEOUT."""
    job = Job.verify(source, state, answer, messages)
    return self.run(job.source, job.function, job.kwargs).as_verdict()

  def map(self, jobs: Iterable[Job]) -> list[SandboxResult]:
    """Runs jobs in parallel over all workers; results in job order.

    Jobs travel in chunks (one round trip per chunk, see _chunks), so the per-message cost of
    threads, frames and JSON is shared; every job still runs in its own freshly forked child.
    """
    jobs = list(jobs)
    encoded = self._encode_all(jobs)
    if len(jobs) <= 1:
      return self._run_encoded(encoded)
    with self._lock:
      if self._executor is None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(self._workers), thread_name_prefix="sandbox")
    chunks = _chunks(jobs, len(self._workers), self.limits.max_request_bytes)
    starts = itertools.accumulate((len(chunk) for chunk in chunks), initial=0)
    encoded_chunks = [encoded[start:start + len(chunk)] for start, chunk in zip(starts, chunks)]
    return [result for chunk in self._executor.map(self._run_encoded, encoded_chunks)
            for result in chunk]

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


@dataclasses.dataclass(frozen=True)
class _Task:
  source: str
  function: str
  kwargs: kwargs_codec.Encoded


def _encode(job: Job, encoder: kwargs_codec.Encoder, max_bytes: int) -> _Task | SandboxResult:
  """The job ready to travel, or a BAD_INPUT result for kwargs that cannot."""
  if not isinstance(job.kwargs, dict):
    raise TypeError(f"kwargs must be a dict, got {type(job.kwargs).__name__}")
  try:
    # The child receives a fresh copy: marshal is ~4x cheaper than JSON for large states and
    # refuses anything but plain data (dict/list/tuple/str/bytes/int/float/bool/None/set).
    encoded = encoder.encode(job.kwargs)
  except (TypeError, ValueError, RecursionError) as e:
    return SandboxResult.error(ErrorKind.BAD_INPUT, f"kwargs are not plain data: {e}")
  source, function = str(job.source), str(job.function)
  size = encoded.size + len(source.encode("utf-8", "surrogatepass"))
  if size > max_bytes:
    return SandboxResult.error(ErrorKind.BAD_INPUT, f"source and kwargs of {size} bytes exceed "
                               f"max_request_bytes={max_bytes}")
  return _Task(source, function, encoded)


def _chunks(jobs: list[Job], num_workers: int, max_bytes: int) -> list[list[Job]]:
  """Splits jobs into about two chunks per worker (<= _MAX_CHUNK jobs each), in order.

  Two per worker keeps both busy when chunk costs differ; jobs with the same source stay together
  (their headers share it). Sources are counted against max_request_bytes per chunk.
  """
  size = max(1, min(_MAX_CHUNK, -(-len(jobs) // (2 * num_workers))))
  chunks: list[list[Job]] = []
  current: list[Job] = []
  source_bytes = 0
  seen: set[str] = set()
  for job in jobs:
    extra = 0 if job.source in seen else len(str(job.source))
    if current and (len(current) >= size or source_bytes + extra > max_bytes):
      chunks.append(current)
      current, source_bytes, seen = [], 0, set()
      extra = len(str(job.source))
    current.append(job)
    seen.add(job.source)
    source_bytes += extra
  if current:
    chunks.append(current)
  return chunks


def _shutdown(workers: list[WorkerHandle], root: PoolRoot) -> None:
  for worker in workers:
    worker.kill()
  root.remove()
