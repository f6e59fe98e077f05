"""What a forked task child does: confine itself, run the untrusted function, report size-capped JSON.

The child writes exactly one JSON object to fd 3 and exits:
  {"ok": true, "value": <return value>}
  {"ok": false, "kind": <error kind>, "type": <exception type>, "message": <text>}
A child that compiles the source itself (the worker had no compiled copy) first writes one byte,
before any untrusted code runs: COMPILED_CACHEABLE when the source is small and compiled quickly
(the worker may then compile it once and hand the code object to later children, see
zygote.Worker), COMPILED otherwise. Everything else (timeouts, signals, exits without a report,
output floods) the worker infers from how the child ended. The report is only trusted as far as
the code could have produced it anyway: untrusted code shares this process, so a forged report is
no worse than returning a value.

Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import builtins
import dataclasses
import gc
import json
import os
import sys
import time
import warnings
from typing import Any, NoReturn

from selfchallenge_jax.sandbox import kwargs_codec
from selfchallenge_jax.sandbox.prepared import RESULT_FD

_MESSAGE_CHARS = 2000
COMPILED_CACHEABLE = b"\x00"
COMPILED = b"\x01"
# Sources the worker may compile itself once a confined child has compiled them within these bounds.
CACHEABLE_SOURCE_CHARS = 64 << 10
CACHEABLE_COMPILE_S = 0.05
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


# Verdicts are the common case: their reports are constants, so the child skips the JSON encoder
# (whose Python-level code would otherwise be paged in copy-on-write in every child).
_CONSTANT_REPORTS = {True: b'{"ok": true, "value": true}', False: b'{"ok": true, "value": false}'}


def _report(payload: dict[str, Any], max_bytes: int) -> NoReturn:
  value = payload.get("value", 0) if payload.get("ok") is True else 0
  constant = _CONSTANT_REPORTS.get(value) if value is True or value is False else None
  try:
    data = constant or _dumps(payload, allow_nan=False).encode()
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


def confine_self(confinement: Any) -> dict[str, bool]:
  """Applies every layer in order; returns which succeeded (the probe reports these).

  Order: own process group, fds (the worker placed the result pipe on 3, output on 1 and 2, the
  Landlock ruleset on 4; everything above is closed), rlimits, uid switch, parent-death signal
  (the uid switch clears it), Landlock, seccomp. `confinement` is a prepared.Confinement built once
  by the worker from a ChildSetup.
  """
  return confinement.apply()


def compile_source(source: str) -> Any:
  """How children and the worker's code cache compile: same flags, warnings not printed."""
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    return compile(source, "<sandbox>", "exec")


def run_task(confinement: Any, source: str, code: Any, function: str,
             kwargs: dict[str, Any] | None, kwargs_blob: bytes | None = None) -> NoReturn:
  """Entry point in the forked child: never returns.

  `kwargs` were decoded by the worker before the fork (zygote.Worker.run): this process has its own
  copy-on-write copy, so whatever the code does to them never reaches the worker or another task.
  Very large ones come as `kwargs_blob` instead and are decoded here, under the memory limit.
  `code` is the worker's compiled copy of `source`, or None: then the child compiles it.
  """
  cap = confinement.setup.max_result_bytes
  # A child lives for one call: cyclic garbage dies with it (memory stays capped by RLIMIT_AS).
  gc.disable()
  try:
    confinement.apply()
  except BaseException as e:  # never run untrusted code half-confined
    _report(_error("sandbox_setup", e), cap)
  if kwargs_blob is not None:
    try:
      kwargs = kwargs_codec.decode(kwargs_blob)
      del kwargs_blob
    except MemoryError as e:
      _report(_error("memory", e), cap)
    except BaseException as e:
      _report(_error("bad_input", e), cap)
  if code is None:
    code = _compile(source, cap)
  _report(_call(code, function, kwargs), cap)


def _compile(source: str, cap: int) -> Any:
  """Compiles under every layer, then tells the worker (before any untrusted code runs) whether
  this source is one it may compile itself: small, and quick to compile here."""
  start = time.thread_time()
  try:
    code = compile_source(source)
  except (SyntaxError, ValueError) as e:   # ValueError: null bytes in the source
    _report(_error("syntax", e), cap)
  except MemoryError as e:
    _report(_error("memory", e), cap)
  except BaseException as e:
    _report(_error("exception", e), cap)
  quick = time.thread_time() - start < CACHEABLE_COMPILE_S
  _write(RESULT_FD, COMPILED_CACHEABLE if quick and len(source) <= CACHEABLE_SOURCE_CHARS
         else COMPILED)
  return code


def _call(code: Any, function: str, kwargs: dict[str, Any]) -> dict[str, Any]:
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


def probe(confinement: Any) -> NoReturn:
  """Applies the layers one by one and checks each one actually bites; reports a dict of bools."""
  setup = confinement.setup
  layers: dict[str, bool] = {}
  try:
    layers.update(confine_self(confinement))
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
