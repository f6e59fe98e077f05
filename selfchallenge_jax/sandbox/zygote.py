"""The worker process: a pre-warmed interpreter that forks one confined child per task.

Started by the pool as `python -I -S -c BOOTSTRAP <repo root>` with an empty environment, so it
imports nothing from site-packages and leaks no secrets through /proc/<pid>/environ. Protocol on
its stdin/stdout (see protocol.py), all frames JSON:
  pool -> worker: config {"uid", "workdir", "limits", "layers_wanted"}
  worker -> pool: hello  {"pid", "layers": {name: bool}, "landlock_abi", "message"}
  pool -> worker: batch header {"sources": [str], "tasks": [[source index, function, in_child]],
                   "drop": [slot], "store": [[slot, keep], ...]}, then one frame per stored part,
                   then one kwargs frame per task (see kwargs_codec: the worker keeps decoded
                   parts between batches as the pool says; `in_child`: the frame is too big to
                   decode outside the memory limit and the child decodes it)
  worker -> pool: a list with one reply per task, in order:
                   {"status", "value", "error_kind", "exception_type", "message", "output"}
Every task of a batch gets its own forked, confined child; batching only shares the round trip.
A source that a confined child compiled quickly (child.COMPILED_CACHEABLE) is compiled once more
by the worker and later children inherit the code object: the worker never parses a source no
confined child has parsed first, and a child's changes to its copy never reach the worker.
The worker stays root (it must reset the work directory and kill children); children drop to the
worker's uid, so they can neither signal the worker nor read other workers' files.
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import select
import signal
import stat
import sys
import time
from typing import Any

from selfchallenge_jax.sandbox import (child, confine, fastfork, kwargs_codec, landlock, prepared,
                                       protocol, seccomp_filter, tree)

# Imported once here so children need no file access to use them (the interpreter may live under a
# directory the children's uid cannot read, e.g. /root/.pyenv). Verifiers may import these.
PRELOADED_MODULES = (
    "_socket", "array", "ast", "base64", "binascii", "bisect", "calendar", "cmath", "codecs",
    "collections", "collections.abc", "copy", "csv", "dataclasses", "datetime", "decimal",
    "difflib", "encodings.cp1252", "encodings.idna", "encodings.latin_1", "encodings.punycode",
    "encodings.raw_unicode_escape", "encodings.unicode_escape", "encodings.utf_16",
    "encodings.utf_32", "enum", "fnmatch", "fractions", "functools", "glob", "hashlib",
    "heapq", "html", "io", "ipaddress", "itertools", "json", "math", "mmap", "numbers",
    "operator", "pathlib", "pprint", "queue", "random", "re", "secrets", "shlex", "socket",
    "statistics", "string", "struct", "subprocess", "tempfile", "textwrap", "threading", "time",
    "traceback", "typing", "unicodedata", "urllib.parse", "uuid", "zlib",
)
_MAX_CONTROL_FRAME = 1 << 20
_OUTPUT_TAIL = 4096
# Error kinds a child may report (child.py); anything else is treated as a crash.
_CHILD_ERROR_KINDS = frozenset({
    "syntax", "exception", "missing_function", "memory", "result_too_large", "bad_return_type",
    "bad_input", "exit", "sandbox_setup"})
_SIGNAL_NAMES = {s.value: s.name for s in signal.Signals}
_MAX_CODES = 64   # compiled sources kept by a worker (oldest dropped first)
# Verdict reports are constants (child._CONSTANT_REPORTS): known without parsing.
_KNOWN_REPORTS = {data: {"ok": True, "value": value}
                  for value, data in child._CONSTANT_REPORTS.items()}


def _preload() -> None:
  for name in PRELOADED_MODULES:
    __import__(name)
  # Warm the compiler and json once so children do not each pay first-use costs.
  exec(compile("def _warm(x):\n  return sorted(x)\n", "<warm>", "exec"), {})
  json.loads(json.dumps({"a": [1, 2.5, "x", None, True]}))


def _input_error(kind: str, e: BaseException) -> dict[str, Any]:
  return {"status": "error", "value": None, "error_kind": kind, "exception_type": type(e).__name__,
          "message": f"kwargs could not be decoded: {e}"[:4096], "output": ""}


def _reset_workdir(workdir: str, uid: int | None) -> None:
  """Leaves the work directory as a fresh one would be, whatever the previous child did: no entries
  (any tree shape: tree.empty_dir), no extended attributes, its owner and mode, and fixed times
  (always set, so its ctime tells a task nothing about the one before)."""
  tree.empty_dir(workdir)
  for name in os.listxattr(workdir, follow_symlinks=False):
    try:
      os.removexattr(workdir, name, follow_symlinks=False)
    except OSError:
      pass
  info = os.stat(workdir)
  if uid is not None and (info.st_uid, info.st_gid) != (uid, uid):
    os.chown(workdir, uid, uid)
  if stat.S_IMODE(info.st_mode) != 0o700:
    os.chmod(workdir, 0o700)
  os.utime(workdir, ns=(0, 0))


class Worker:
  """Runs tasks one at a time; each task is a fork with a wall deadline enforced here."""

  def __init__(self, config: dict[str, Any], devnull_fd: int, stderr_fd: int) -> None:
    self.devnull_fd, self.stderr_fd = devnull_fd, stderr_fd
    self.limits = config["limits"]
    # The pool's directory for this worker (root's, 0o711: children pass through, cannot write)
    # holds the task directory, which every task gets fresh (_fresh_workdir).
    self.home: str = config["workdir"]
    self.workdir = os.path.join(self.home, "task")
    wanted = set(config["layers_wanted"])
    self.layers: dict[str, bool] = {"rlimits": False, "uid": False, "netns": False,
                                    "landlock": False, "seccomp": False, "tmpfs": False}
    self.message = ""
    self.codes: dict[str, Any] = {}   # source -> code object (see the module docstring)
    uid = config["uid"] if os.geteuid() == 0 and "uid" in wanted else None
    os.chmod(self.home, 0o711)
    if not os.path.isdir(self.workdir):
      os.mkdir(self.workdir, 0o700)
    self.raw_fork = fastfork.single_threaded()
    self.parts = kwargs_codec.PartStore()
    if "netns" in wanted:
      self.layers["netns"] = self._try(confine.unshare_network)
    # A tmpfs per task needs mount rights, and a root-owned home the child's own uid cannot write
    # (Landlock then allows writes beneath the home, which holds only the mount point).
    if "tmpfs" in wanted and uid is not None:
      self.layers["tmpfs"] = bool(self._try(confine.private_mounts)) and bool(self._try(
          lambda: confine.mount_task_tmpfs(self.workdir, self.limits["max_disk_bytes"],
                                           self.limits["max_disk_files"], uid)))
    os.chdir(self.workdir)   # children inherit it as their working directory
    self.landlock_abi = landlock.abi_version() if "landlock" in wanted else 0
    ruleset_fd = None
    if self.landlock_abi > 0:
      read_paths = [p for p in sys.path if os.path.isdir(p)]
      write_root = self.home if self.layers["tmpfs"] else self.workdir
      ruleset_fd = self._try(lambda: _move_high(
          landlock.make_ruleset(read_paths, [write_root]))) or None
    self.setup = child.ChildSetup(
        workdir=self.workdir,
        uid=uid,
        ruleset_fd=ruleset_fd,
        seccomp_program=seccomp_filter.build_filter() if (
            "seccomp" in wanted and seccomp_filter.supported()) else None,
        cpu_s=self.limits["cpu_s"], memory_bytes=self.limits["memory_bytes"],
        max_open_files=self.limits["max_open_files"],
        max_output_bytes=self.limits["max_output_bytes"],
        max_result_bytes=self.limits["max_result_bytes"], worker_pid=os.getpid())
    prepared.prepare_worker()
    self.confinement = prepared.Confinement(self.setup)

  def _fresh_workdir(self) -> None:
    """The next task's directory: a new tmpfs (the kernel drops the old one's files; its size and
    inode count are the task's disk quota), or the same directory reset (_reset_workdir)."""
    if self.layers["tmpfs"]:
      os.chdir(self.home)
      confine.unmount(self.workdir)
      confine.mount_task_tmpfs(self.workdir, self.limits["max_disk_bytes"],
                               self.limits["max_disk_files"], self.setup.uid)
      os.chdir(self.workdir)
    else:
      # What the last task left goes aside in one rename per top-level entry and is removed out
      # of band, so a huge tree costs the next task nothing; the trash (root's, 0700, a random
      # name in the root-owned home) is out of every child's reach.
      try:
        trash = tree.move_entries(self.workdir, self.home)
      except OSError:
        trash = None                     # _reset_workdir empties what is left, inline
      if trash is not None:
        tree.remove_in_background(trash, lambda: fastfork.fork(self.raw_fork))
      _reset_workdir(self.workdir, self.setup.uid)

  def _try(self, fn: Any) -> Any:
    try:
      result = fn()
    except OSError as e:
      self.message += f"{getattr(fn, '__name__', 'layer')}: {e}; "
      return False
    return True if result is None else result

  def probe(self) -> None:
    """Runs the probe child and keeps only layers that demonstrably work."""
    reply, _ = self._fork_and_wait(lambda: child.probe(self.confinement))
    found = reply.get("value", {}).get("layers", {}) if reply["status"] == "returned" else {}
    self.message += reply.get("value", {}).get("message", "") if isinstance(
        reply.get("value"), dict) else reply.get("message", "")
    for name in ("rlimits", "uid", "landlock", "seccomp"):
      self.layers[name] = bool(found.get(name))
    # Children only apply what was proven to work; a layer that failed the probe is dropped.
    self.setup = child.ChildSetup(**{
        **self.setup.__dict__,
        "uid": self.setup.uid if self.layers["uid"] else None,
        "ruleset_fd": self.setup.ruleset_fd if self.layers["landlock"] else None,
        "seccomp_program": self.setup.seccomp_program if self.layers["seccomp"] else None,
    })
    self.confinement.close()
    self.confinement = prepared.Confinement(self.setup)

  def store_parts(self, drop: list[int], stores: list[tuple[int, bool]],
                  blobs: list[bytes]) -> None:
    """Decodes a batch's new parts before its forks; children inherit them copy-on-write and touch
    only the pages they read, instead of allocating (and page-faulting in) a whole fresh copy.

    The blobs come from the trusted pool; nothing a child sends is ever unmarshalled. The
    collector stays off for the whole batch, so neither decoding nor a child's lifetime triggers
    collections over them.
    """
    gc.disable()
    self.parts.update(drop, stores, blobs)

  def end_batch(self) -> None:
    """After the batch's children are reaped: frees its one-off parts, collector back on."""
    self.parts.end_batch()
    gc.enable()

  def run(self, source: str, function: str, in_child: bool, frame: bytes) -> dict[str, Any]:
    """One task in its own child. Its kwargs are assembled here from the worker's parts (the
    collector stays off until the child is reaped, see store_parts); `in_child`: the child
    decodes `frame` itself, under its RLIMIT_AS."""
    code = self.codes.get(source)
    if in_child:
      return self._run_child(source, code, lambda: child.run_task(
          self.confinement, source, code, function, None, kwargs_blob=frame))
    try:
      kwargs = self.parts.build(frame)
    except MemoryError as e:
      return _input_error("memory", e)
    except (ValueError, EOFError, TypeError) as e:
      return _input_error("bad_input", e)
    try:
      return self._run_child(source, code, lambda: child.run_task(
          self.confinement, source, code, function, kwargs))
    finally:
      kwargs = None   # freed only now: the child that shared its pages is gone

  def _run_child(self, source: str, code: Any, child_main: Any) -> dict[str, Any]:
    reply, first_byte = self._fork_and_wait(child_main)
    if code is None and first_byte == child.COMPILED_CACHEABLE and (
        len(source) <= child.CACHEABLE_SOURCE_CHARS):
      # Only now, after a confined child compiled it quickly: the worker's compile is the same.
      if len(self.codes) >= _MAX_CODES:
        del self.codes[next(iter(self.codes))]
      self.codes[source] = child.compile_source(source)
    return reply

  def _fork_and_wait(self, child_main: Any) -> tuple[dict[str, Any], bytes]:
    """Runs `child_main` in a fresh child; returns its reply and the first byte it reported
    (child.COMPILED_CACHEABLE or child.COMPILED when it compiled the source; see child.py)."""
    self._fresh_workdir()
    out_fd = os.memfd_create("output", os.MFD_CLOEXEC)   # the child's stdout and stderr
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    stdin_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    self.confinement.place_fds(stdin_fd, out_fd, write_fd)
    os.close(stdin_fd)
    os.close(write_fd)
    start = time.monotonic()
    pid = fastfork.fork(self.raw_fork)
    if pid == 0:
      try:
        child_main()
      finally:
        os._exit(1)
    self._restore_fds()
    try:
      return self._supervise(pid, read_fd, out_fd, start)
    finally:
      os.close(read_fd)
      os.close(out_fd)
      if self.raw_fork:
        fastfork.reseed_random()

  def _restore_fds(self) -> None:
    """The worker's own 0-3 again: /dev/null, /dev/null, its stderr, /dev/null (see main)."""
    os.dup2(self.devnull_fd, 0)
    os.dup2(self.devnull_fd, 1)
    os.dup2(self.stderr_fd, 2)
    os.dup2(self.devnull_fd, prepared.RESULT_FD)

  def _supervise(self, pid: int, read_fd: int, out_fd: int,
                 start: float) -> tuple[dict[str, Any], bytes]:
    """Waits on the child itself (pidfd), never for pipe EOF: escaped writers cannot stall us."""
    cap = self.limits["max_result_bytes"] + 4096
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(read_fd, select.POLLIN)
    deadline = start + self.limits["wall_s"]
    buffer = bytearray()
    timed_out = too_large = exited = False
    try:
      while not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
          timed_out = True
          break
        for fd, _ in poller.poll(max(1, int(remaining * 1000))):
          if fd == pidfd:
            exited = True
          elif not self._drain(read_fd, buffer, cap, poller):
            too_large = True
            exited = True
      _kill_group(pid)
      _, status, usage = os.wait4(pid, 0)
      os.set_blocking(read_fd, False)
      if not self._drain(read_fd, buffer, cap, None):
        too_large = True
    finally:
      os.close(pidfd)
    output_size = os.fstat(out_fd).st_size
    output = _fit_text(_tail(out_fd, output_size), _OUTPUT_BYTES, keep_end=True)
    report = bytes(buffer)
    first_byte = report[:1]
    if first_byte in (child.COMPILED_CACHEABLE, child.COMPILED):
      report = report[1:]
    return self._classify(status, usage.ru_utime + usage.ru_stime, timed_out, too_large,
                          report, output_size, output), first_byte

  @staticmethod
  def _drain(fd: int, buffer: bytearray, cap: int, poller: Any) -> bool:
    """Reads what is available; False once the child sent more than `cap` bytes."""
    while True:
      try:
        chunk = os.read(fd, 65536)
      except BlockingIOError:
        return True
      if not chunk:
        if poller is not None:
          poller.unregister(fd)
        return True
      buffer += chunk
      if len(buffer) > cap:
        return False
      if poller is not None:
        return True

  def _classify(self, status: int, cpu_used: float, timed_out: bool, too_large: bool,
                report: bytes, output_size: int, output: str) -> dict[str, Any]:
    limits = self.limits
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    def error(kind: str, message: str, exception_type: str = "") -> dict[str, Any]:
      return {"status": "error", "value": None, "error_kind": kind,
              "exception_type": exception_type, "message": message, "output": output}
    if timed_out:
      return {**error("", f"wall time limit of {limits['wall_s']} s exceeded"), "status": "timeout"}
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and cpu_used >= limits["cpu_s"]):
      return {**error("", f"CPU time limit of {limits['cpu_s']} s exceeded"), "status": "timeout"}
    if signum == signal.SIGXFSZ or output_size >= limits["max_output_bytes"]:
      return error("output_too_large", f"output reached the cap of {limits['max_output_bytes']} bytes")
    if too_large:
      return error("result_too_large", f"result exceeds {limits['max_result_bytes']} bytes")
    if report:
      parsed = _KNOWN_REPORTS.get(report)
      try:
        parsed = json.loads(report) if parsed is None else parsed
      except (ValueError, RecursionError) as e:
        return error("crashed", f"unreadable result: {type(e).__name__}")
      if isinstance(parsed, dict) and parsed.get("ok") is True:
        problem = None if report in _KNOWN_REPORTS else _unsendable(
            parsed.get("value"), 2 * limits["max_result_bytes"])
        if problem:
          return error("result_too_large", problem)
        return {"status": "returned", "value": parsed.get("value"), "error_kind": "",
                "exception_type": "", "message": "", "output": output}
      if isinstance(parsed, dict) and parsed.get("ok") is False:
        kind = parsed.get("kind")
        return error(kind if kind in _CHILD_ERROR_KINDS else "crashed",
                     _fit_text(str(parsed.get("message", ""))[:4096], _MESSAGE_BYTES),
                     _fit_text(str(parsed.get("type", ""))[:200], _TYPE_BYTES))
      return error("crashed", "malformed result")
    if signum is not None:
      name = _SIGNAL_NAMES.get(signum, str(signum))
      return error("crashed", f"killed by signal {name}")
    return error("exit", f"exited with code {os.WEXITSTATUS(status)} without a result")


# protocol.REPLY_TEXT_BYTES split over a reply's text fields, as the worker's JSON encodes them
# (a character escaped as a surrogate pair of \u escapes takes 12 bytes).
_MESSAGE_BYTES, _TYPE_BYTES = 6 << 10, 1 << 10
_OUTPUT_BYTES = protocol.REPLY_TEXT_BYTES - _MESSAGE_BYTES - _TYPE_BYTES - 512


def _fit_text(text: str, budget: int, keep_end: bool = False) -> str:
  """`text` cut (from the front with `keep_end`) until its JSON encoding fits `budget` bytes."""
  while len(json.dumps(text)) > budget:
    cut = max(1, len(text) // 4)
    text = text[cut:] if keep_end else text[:-cut]
  return text


def _unsendable(value: Any, max_bytes: int) -> str | None:
  """Why a returned value cannot travel in the reply frame (too deep or too large once the worker
  re-encodes it), or None. Iterative: the depth is checked before anything recurses."""
  stack = [(value, 1)]
  while stack:
    item, depth = stack.pop()
    if depth > protocol.MAX_RESULT_DEPTH:
      return f"result nested deeper than {protocol.MAX_RESULT_DEPTH}"
    if isinstance(item, dict):
      stack.extend((v, depth + 1) for v in item.values())
    elif isinstance(item, list):
      stack.extend((v, depth + 1) for v in item)
  size = len(json.dumps(value))
  if size > max_bytes:
    return f"result is {size} bytes as JSON; at most {max_bytes}"
  return None


def _kill_group(pid: int) -> None:
  for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
    try:
      target()
    except (ProcessLookupError, PermissionError):
      pass


def _tail(fd: int, size: int) -> str:
  start = max(0, size - _OUTPUT_TAIL)
  return os.pread(fd, min(size, _OUTPUT_TAIL), start).decode("utf-8", "replace")


def _move_high(fd: int) -> int:
  """Moves `fd` to the lowest free number >= prepared.WORKER_FDS_FROM (close-on-exec)."""
  high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, prepared.WORKER_FDS_FROM)
  os.close(fd)
  return high


def main() -> None:
  # Move the protocol pipes off fds 0/1 so a stray print can never corrupt a frame, and every fd
  # of the worker's own above the few a child gets (see prepared.Confinement.place_fds).
  proto_in, proto_out, stderr_fd = (_move_high(os.dup(fd)) for fd in (0, 1, 2))
  devnull = _move_high(os.open(os.devnull, os.O_RDWR))
  os.closerange(3, prepared.WORKER_FDS_FROM)
  for fd in (0, 1, 3):   # 0-3 stay taken, so no descriptor the worker opens lands on them
    os.dup2(devnull, fd)
  confine.die_with_parent()
  config = json.loads(protocol.read_frame(proto_in, _MAX_CONTROL_FRAME))
  _preload()
  worker = Worker(config, devnull_fd=devnull, stderr_fd=stderr_fd)
  gc.collect()
  gc.freeze()   # children then share the warm heap instead of copying it on first GC
  worker.probe()
  hello = {"pid": os.getpid(), "layers": worker.layers, "landlock_abi": worker.landlock_abi,
           "message": worker.message}
  protocol.write_frame(proto_out, json.dumps(hello).encode())
  max_request = config["limits"]["max_request_bytes"]
  while True:
    try:
      batch = json.loads(protocol.read_frame(proto_in, _MAX_CONTROL_FRAME + max_request))
      sources, tasks = batch["sources"], batch["tasks"]
      blobs = [protocol.read_frame(proto_in, max_request) for _ in batch["store"]]
      frames = [protocol.read_frame(proto_in, max_request) for _ in tasks]
    except protocol.ProtocolError:
      return   # the pool closed our stdin: shut down
    # A part the pool believes we hold but cannot be decoded is a broken pool: dying here makes
    # it replace us and forget what we held.
    worker.store_parts(batch["drop"], batch["store"], blobs)
    del blobs
    replies = [worker.run(sources[index], function, in_child, frame)
               for (index, function, in_child), frame in zip(tasks, frames)]
    worker.end_batch()
    del batch, sources, tasks, frames
    protocol.write_frame(proto_out, json.dumps(replies).encode())
