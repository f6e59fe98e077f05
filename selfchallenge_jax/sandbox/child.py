"""What a forked task child does: confine itself, run the untrusted function, report size-capped JSON.

The child writes exactly one JSON object to fd 3 and exits:
  {"ok": true, "value": <return value>}
  {"ok": false, "kind": <error kind>, "type": <exception type>, "message": <text>}
Everything else (timeouts, signals, exits without a report, output floods) the worker infers from
how the child ended. The report is only trusted as far as the code could have produced it anyway:
untrusted code shares this process, so a forged report is no worse than returning a value.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import builtins
import dataclasses
import fcntl
import gc
import json
import marshal
import os
import resource
import signal
import sys
from typing import Any, NoReturn

from selfchallenge_jax.sandbox import confine, landlock, seccomp_filter

RESULT_FD = 3
_RULESET_FD = 4
_MESSAGE_CHARS = 2000
# Work done before any layer is in place runs with the worker's privileges: keep it to fd moves.
_write = os.write
_exit = os._exit
_dumps = json.dumps


@dataclasses.dataclass(frozen=True)
class ChildSetup:
  """How a worker confines each child; `layers` lists the ones the probe found working."""
  workdir: str
  uid: int | None
  ruleset_fd: int | None
  seccomp_program: bytes | None
  cpu_s: float
  memory_bytes: int
  max_open_files: int
  max_output_bytes: int
  max_result_bytes: int
  worker_pid: int


def _report(payload: dict[str, Any], max_bytes: int) -> NoReturn:
  try:
    data = _dumps(payload, allow_nan=False).encode()
  except (TypeError, ValueError, RecursionError) as e:
    data = _dumps({"ok": False, "kind": "bad_return_type", "type": type(e).__name__,
                   "message": f"return value is not JSON-serializable: {e}"[:_MESSAGE_CHARS]}).encode()
  if len(data) > max_bytes:
    data = _dumps({"ok": False, "kind": "result_too_large", "type": "",
                   "message": f"result of {len(data)} bytes exceeds {max_bytes}"}).encode()
  view = memoryview(data)
  try:
    while view:
      view = view[_write(RESULT_FD, view):]
  except OSError:
    pass
  _exit(0)


def _error(kind: str, e: BaseException | None, message: str = "") -> dict[str, Any]:
  text = message or (f"{type(e).__name__}: {e}" if e is not None else "")
  return {"ok": False, "kind": kind, "type": type(e).__name__ if e is not None else "",
          "message": text[:_MESSAGE_CHARS]}


def _move_fds(result_fd: int, out_fd: int, ruleset_fd: int | None) -> None:
  """Puts the result pipe on fd 3, output on 1 and 2, the ruleset on 4; closes everything else."""
  high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 16) for fd in (result_fd, out_fd)]
  ruleset_high = fcntl.fcntl(ruleset_fd, fcntl.F_DUPFD, 16) if ruleset_fd is not None else None
  devnull = os.open(os.devnull, os.O_RDONLY)
  os.dup2(devnull, 0)
  os.dup2(high[1], 1)
  os.dup2(high[1], 2)
  os.dup2(high[0], RESULT_FD)
  if ruleset_high is not None:
    os.dup2(ruleset_high, _RULESET_FD)
    os.closerange(_RULESET_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
  else:
    os.closerange(RESULT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def confine_self(setup: ChildSetup, result_fd: int, out_fd: int) -> dict[str, bool]:
  """Applies every layer in order; returns which succeeded (the probe reports these)."""
  os.setsid()   # own process group: the worker kills the whole group, never its own
  _move_fds(result_fd, out_fd, setup.ruleset_fd)
  os.chdir(setup.workdir)
  os.environ.clear()
  signal.signal(signal.SIGXFSZ, signal.SIG_DFL)   # Python ignores it; we want a clear death
  applied = {}
  confine.set_rlimits(setup.cpu_s, setup.memory_bytes, setup.max_open_files, setup.max_output_bytes)
  applied["rlimits"] = True
  if setup.uid is not None:
    confine.drop_to_uid(setup.uid)
    applied["uid"] = True
  confine.die_with_parent()   # after the uid switch, which clears it
  if os.getppid() != setup.worker_pid:
    _exit(1)                  # the worker died before we armed the death signal
  if setup.ruleset_fd is not None:
    landlock.restrict_self(_RULESET_FD)
    os.close(_RULESET_FD)
    applied["landlock"] = True
  if setup.seccomp_program is not None:
    seccomp_filter.install(setup.seccomp_program)
    applied["seccomp"] = True
  return applied


def run_task(setup: ChildSetup, source: str, function: str, kwargs_blob: bytes,
             result_fd: int, out_fd: int) -> NoReturn:
  """Entry point in the forked child: never returns."""
  cap = setup.max_result_bytes
  # A child lives for one call: cyclic garbage dies with it, and collections while parsing a
  # multi-MB state cost more than the parse (memory stays capped by RLIMIT_AS).
  gc.disable()
  try:
    confine_self(setup, result_fd, out_fd)
  except BaseException as e:  # never run untrusted code half-confined
    _report(_error("sandbox_setup", e), cap)
  try:
    # marshal, not JSON: about 4x cheaper for a multi-MB state. Safe here because this blob comes
    # from the trusted pool and is decoded only by the untrusted side; nothing a child sends back
    # is ever unmarshalled (replies are size-capped JSON).
    kwargs = marshal.loads(kwargs_blob)
    del kwargs_blob
    if not isinstance(kwargs, dict):
      raise TypeError("kwargs must be a dict")
  except MemoryError as e:
    _report(_error("memory", e), cap)
  except BaseException as e:
    _report(_error("bad_input", e), cap)
  _report(_call(source, function, kwargs), cap)


def _call(source: str, function: str, kwargs: dict[str, Any]) -> dict[str, Any]:
  try:
    code = compile(source, "<sandbox>", "exec")
  except (SyntaxError, ValueError) as e:   # ValueError: null bytes in the source
    return _error("syntax", e)
  except MemoryError as e:
    return _error("memory", e)
  except BaseException as e:
    return _error("exception", e)
  namespace: dict[str, Any] = {"__name__": "__sandbox__", "__builtins__": builtins}
  try:
    exec(code, namespace)
    target = namespace.get(function)
    if not callable(target):
      return _error("missing_function", None, f"the source defines no function {function!r}")
    value = target(**kwargs)
  except MemoryError as e:
    return _error("memory", e)
  except SystemExit as e:
    return _error("exit", e, f"sys.exit({e.code!r}) called")
  except BaseException as e:
    return _error("exception", e)
  finally:
    for stream in (sys.stdout, sys.stderr):
      try:
        stream.flush()
      except BaseException:
        pass
  return {"ok": True, "value": value}


def probe(setup: ChildSetup, result_fd: int, out_fd: int) -> NoReturn:
  """Applies the layers one by one and checks each one actually bites; reports a dict of bools."""
  layers: dict[str, bool] = {}
  try:
    layers.update(confine_self(setup, result_fd, out_fd))
  except BaseException as e:
    layers["error"] = False
    _report({"ok": True, "value": {"layers": layers, "message": f"{type(e).__name__}: {e}"}},
            setup.max_result_bytes)
  if layers.get("uid"):
    layers["uid"] = _raises(lambda: os.kill(setup.worker_pid, 0), PermissionError)
  if layers.get("landlock"):
    layers["landlock"] = _raises(lambda: os.listdir("/"), PermissionError)
  if layers.get("seccomp"):
    import _socket  # preloaded by the worker
    layers["seccomp"] = _raises(_socket.socket, PermissionError)
  _report({"ok": True, "value": {"layers": layers, "message": ""}}, setup.max_result_bytes)


def _raises(fn: Any, error: type[BaseException]) -> bool:
  try:
    fn()
  except error:
    return True
  except BaseException:
    return False
  return False
