"""SandboxPool: normal results, a hostile battery, worker replacement and the isolation floor.

Every hostile case is followed by a normal call, so a case that breaks a worker shows up as a
failure of the next call rather than passing silently.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from selfchallenge_jax.sandbox import (ErrorKind, IsolationLevel, Job, SandboxLimits, SandboxPool,
                                       SandboxUnavailableError, Status)
from selfchallenge_jax.sandbox import isolation, worker_handle, zygote

LIMITS = SandboxLimits(cpu_s=1, wall_s=2, memory_bytes=256 << 20, max_output_bytes=64 << 10,
                       max_result_bytes=16 << 10)
VERIFY_X = "def verify(state, answer, messages):\n  return state['x'] == 1 and answer == 'ok'\n"


@pytest.fixture(scope="module")
def pool():
  with SandboxPool(num_workers=2, limits=LIMITS) as p:
    yield p


def assert_healthy(pool: SandboxPool) -> None:
  """The parent lives (we are running) and both workers still serve correct results."""
  results = pool.map([Job.verify(VERIFY_X, {"x": 1}, "ok", [])] * 2)
  assert [r.status for r in results] == [Status.RETURNED] * 2
  assert [r.value for r in results] == [True, True]


def run(pool: SandboxPool, body: str, **kwargs):
  result = pool.run(body, "f", kwargs)
  assert_healthy(pool)
  return result


# ---- normal behaviour ---------------------------------------------------------------------------
def test_isolation_level_is_strict_on_this_host(pool):
  assert pool.isolation_level == IsolationLevel.STRICT
  assert all(pool.layers[name] for name in isolation.LAYERS)


def test_verify_maps_bools_and_other_returns(pool):
  assert pool.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
  assert pool.verify(VERIFY_X, {"x": 2}, "ok", []).status is Status.FAILED
  result = pool.verify("def verify(state, answer, messages):\n  return 1\n", {}, "", [])
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.BAD_RETURN_TYPE)


def test_run_returns_value_and_output(pool):
  result = pool.run("def f(a, b):\n  print('hello')\n  return {'sum': a + b}\n", "f",
                    {"a": 2, "b": 3})
  assert result.status is Status.RETURNED
  assert result.value == {"sum": 5}
  assert result.output == "hello\n"


@pytest.mark.parametrize("source, kind, exception_type", [
    ("def f(:\n", ErrorKind.SYNTAX, "SyntaxError"),
    ("def f():\n  return 1 / 0\n", ErrorKind.EXCEPTION, "ZeroDivisionError"),
    ("raise KeyError('at import')\n", ErrorKind.EXCEPTION, "KeyError"),
    ("def g():\n  pass\n", ErrorKind.MISSING_FUNCTION, ""),
    ("f = 3\n", ErrorKind.MISSING_FUNCTION, ""),
    ("def f():\n  return {1, 2}\n", ErrorKind.BAD_RETURN_TYPE, "TypeError"),
    ("def f():\n  return 'x' * 100_000\n", ErrorKind.RESULT_TOO_LARGE, ""),
    ("import sys\ndef f():\n  sys.exit(3)\n", ErrorKind.EXIT, "SystemExit"),
])
def test_error_kinds(pool, source, kind, exception_type):
  result = pool.run(source, "f", {})
  assert (result.status, result.error_kind) == (Status.ERROR, kind), result
  assert result.exception_type == exception_type


def test_unserializable_kwargs_are_bad_input(pool):
  result = pool.run("def f(x):\n  return 1\n", "f", {"x": object()})
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.BAD_INPUT)


def test_mutating_state_does_not_leak(pool):
  source = ("def verify(state, answer, messages):\n"
            "  seen = state['items'][:]\n"
            "  state['items'].append('evil'); state['x'] = 99; messages.clear()\n"
            "  return seen == ['a']\n")
  state = {"items": ["a"], "x": 1}
  messages = [{"kind": "respond", "content": "hi", "reply": ""}]
  before = copy.deepcopy((state, messages))
  for _ in range(3):   # each call must see the original, never a previous call's mutation
    assert pool.verify(source, state, "", messages).status is Status.PASSED
  assert (state, messages) == before


# ---- hostile battery ----------------------------------------------------------------------------
def test_infinite_loop_hits_cpu_limit(pool):
  assert run(pool, "def f():\n  while True:\n    pass\n").status is Status.TIMEOUT


def test_sleep_hits_wall_deadline(pool):
  result = run(pool, "import time\ndef f():\n  time.sleep(1e9)\n")
  assert result.status is Status.TIMEOUT
  assert "wall" in result.message


@pytest.mark.parametrize("allocation", ["bytearray(10 * 2**30)", "[0] * (10 * 2**30 // 8)",
                                        "' ' * (10 * 2**30)"])
def test_10gb_allocation_is_a_memory_error(pool, allocation):
  result = run(pool, f"def f():\n  x = {allocation}\n  return len(x)\n")
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.MEMORY)


def test_fork_bomb_is_refused(pool):
  result = run(pool, "import os\ndef f():\n  while True:\n    os.fork()\n")
  assert (result.status, result.error_kind, result.exception_type) == (
      Status.ERROR, ErrorKind.EXCEPTION, "PermissionError")


def test_threads_and_subprocesses_are_refused(pool):
  source = ("import threading\n"
            "def f():\n  threading.Thread(target=print).start()\n  return 'started'\n")
  assert run(pool, source).status is Status.ERROR


def test_tcp_to_loopback_never_arrives(pool):
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    result = run(pool, "import socket\ndef f(port):\n"
                 "  s = socket.create_connection(('127.0.0.1', port), timeout=1)\n"
                 "  s.sendall(b'leak')\n  return 'sent'\n", port=port)
    assert result.status is Status.ERROR, result
    server.setblocking(False)
    with pytest.raises(BlockingIOError):   # nothing is waiting in the accept queue
      server.accept()


def test_udp_to_loopback_never_arrives(pool):
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    result = run(pool, "import socket\ndef f(port):\n"
                 "  s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                 "  s.sendto(b'leak', ('127.0.0.1', port))\n  return 'sent'\n", port=port)
    assert result.status is Status.ERROR, result
    server.setblocking(False)
    with pytest.raises(BlockingIOError):
      server.recvfrom(64)


def test_raw_unshare_cannot_escape_the_filter(pool):
  result = run(pool, "import ctypes\ndef f():\n"
               "  libc = ctypes.CDLL(None, use_errno=True)\n"
               "  return [libc.unshare(0x10000000 | 0x40000000), ctypes.get_errno()]\n")
  assert result.status is Status.RETURNED
  assert result.value == [-1, 1]   # EPERM


def test_writes_outside_the_temp_dir_fail(pool, tmp_path):
  targets = [str(tmp_path / "escape.txt"), "/tmp/selfchallenge_sandbox_escape.txt",
             os.path.join(os.path.dirname(__file__), "escape.txt")]
  source = ("def f(paths):\n  done = []\n  for p in paths:\n    try:\n"
            "      open(p, 'w').write('x'); done.append(p)\n    except OSError:\n      pass\n"
            "  open('inside.txt', 'w').write('fine')\n  return done\n")
  result = run(pool, source, paths=targets)
  assert (result.status, result.value) == (Status.RETURNED, [])
  assert not any(os.path.exists(p) for p in targets)


def test_temp_dir_is_private_and_emptied_between_tasks(pool):
  source = ("import os\ndef f():\n  before = sorted(os.listdir('.'))\n"
            "  open('leftover.txt', 'w').write('secret')\n  return before\n")
  results = [pool.run(source, "f", {}) for _ in range(4)]   # FIFO idle queue: workers repeat
  assert [r.value for r in results] == [[]] * 4


def test_cannot_read_another_tasks_input(pool):
  secret = "s3cr3t-" + os.urandom(8).hex()
  holder = ("import time\ndef f(secret):\n  open('input.txt', 'w').write(secret)\n"
            "  time.sleep(1)\n  return 'held'\n")
  thief = ("import os\ndef f(root, pids):\n  found, paths = [], []\n"
           "  for d in (root, root + '/w0', root + '/w1', '/proc', '/tmp'):\n    try:\n"
           "      names = os.listdir(d)\n      found.append(repr(names))\n"
           "      paths += [d + '/' + n for n in names]\n    except OSError:\n      pass\n"
           "  paths += [root + '/w0/input.txt', root + '/w1/input.txt']\n"
           "  paths += [f'/proc/{p}/{n}' for p in pids for n in ('cmdline', 'environ', 'mem')]\n"
           "  for p in paths:\n    try:\n      found.append(open(p, 'rb').read().decode('latin1'))\n"
           "    except OSError:\n      pass\n"
           "  return found\n")
  root = os.path.dirname(pool._workers[0].workdir)
  results = pool.map([Job(holder, "f", {"secret": secret}), Job(thief, "f", {"root": root, "pids": pool.worker_pids + [os.getpid()]})])
  assert results[0].value == "held"
  assert results[1].status is Status.RETURNED
  assert secret not in repr(results[1])
  # All it may see is its own, empty, work dir.
  assert set(results[1].value) <= {"[]"}, results[1].value


def test_reading_host_files_fails(pool):
  result = run(pool, "def f():\n  return open('/etc/passwd').read()\n")
  assert (result.status, result.exception_type) == (Status.ERROR, "PermissionError")


@pytest.mark.parametrize("attack", [
    "os.kill(os.getppid(), signal.SIGKILL)",
    "os.kill(parent, signal.SIGKILL)",
    "os.killpg(os.getpgid(parent), signal.SIGKILL)",
    "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
    "os.kill(-1, signal.SIGKILL)",
    "os.kill(0, signal.SIGKILL)",
])
def test_killing_the_parent_or_its_group_fails(pool, attack):
  pids_before = pool.worker_pids
  source = f"import os, signal\ndef f(parent):\n  {attack}\n  return 'survived'\n"
  result = run(pool, source, parent=os.getpid())
  assert result.status is not Status.PASSED
  if attack.startswith("os.kill(0"):   # its own group: only the child itself dies
    assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.CRASHED)
  assert pool.worker_pids == pids_before   # no worker had to be replaced


def test_stdout_flood_is_output_too_large(pool):
  result = run(pool, "def f():\n  while True:\n    print('x' * 10000)\n")
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.OUTPUT_TOO_LARGE)
  assert len(result.output) <= 4096


def test_big_file_write_is_output_too_large(pool):
  result = run(pool, "def f():\n  open('big', 'wb').write(b'x' * (1 << 20))\n")
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.OUTPUT_TOO_LARGE)


def test_deep_recursion_is_contained(pool):
  plain = run(pool, "def f():\n  return f()\n")
  assert (plain.status, plain.exception_type) == (Status.ERROR, "RecursionError")
  unbounded = run(pool, "import sys\nsys.setrecursionlimit(10**8)\n"
                  "def g(n):\n  return g(n + 1) + 1\ndef f():\n  return g(0)\n")
  assert unbounded.status in (Status.ERROR, Status.TIMEOUT)


def test_os_exit_without_result(pool):
  result = run(pool, "import os\ndef f():\n  os._exit(0)\n")
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.EXIT)


def test_forged_verdict_needs_the_verifiers_own_return(pool):
  # Code shares the child with the harness: it may forge a report, but only for its own task, and
  # an unknown error kind is treated as a crash rather than trusted.
  source = ("import os\ndef f():\n"
            "  os.write(3, b'{\"ok\": false, \"kind\": \"worker_lost\"}')\n  os._exit(0)\n")
  result = run(pool, source)
  assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.CRASHED)


# A child can write any bytes as its report (fd 3): the worker must re-check what it will send, so
# only the offending job fails and its chunk-mates get their own verdicts (issue 19, item 5).
_DEEP_REPORT = ("import os\ndef f():\n  os.write(3, b'{\"ok\": true, \"value\": ' + b'[' * 980 "
                "+ b']' * 980 + b'}')\n  os._exit(0)\n")
_GROWING_REPORT = ("import os\ndef f():\n  os.write(3, ('{\"ok\": true, \"value\": \"' + "
                   f"'\\u00e9' * {LIMITS.max_result_bytes // 2 - 64}" " + '\"}').encode())\n"
                   "  os._exit(0)\n")
_ESCAPING_MESSAGE = ("import os\ndef f():\n  os.write(3, ('{\"ok\": false, \"kind\": \"exception\", "
                     "\"message\": \"' + '\\U0001F600' * 4000 + '\"}').encode())\n  os._exit(0)\n")
_ESCAPING_OUTPUT = "def f():\n  print('\\x01' * 20000)\n  return 1\n"


@pytest.mark.parametrize("source", [_DEEP_REPORT, _GROWING_REPORT, _ESCAPING_MESSAGE,
                                    _ESCAPING_OUTPUT],
                         ids=["nested_980", "grows_3x_reencoded", "escaping_message",
                              "escaping_output"])
def test_hostile_report_fails_only_its_own_job(pool, source):
  good = Job.verify(VERIFY_X, {"x": 1}, "ok", [])
  jobs = [good, Job(source, "f", {}), good, good, good]
  results = pool.map(jobs)
  assert [r.value for i, r in enumerate(results) if i != 1] == [True] * 4, results
  hostile = results[1]
  assert hostile.error_kind is not ErrorKind.WORKER_LOST, hostile
  if source in (_DEEP_REPORT, _GROWING_REPORT):
    assert (hostile.status, hostile.error_kind) == (Status.ERROR, ErrorKind.RESULT_TOO_LARGE)
  assert_healthy(pool)


def test_sysv_ipc_is_denied(pool):
  """SysV shared memory lives outside RLIMIT_AS and outlives the task (issue 19, item 2)."""
  source = ("import ctypes\ndef f():\n  libc = ctypes.CDLL(None, use_errno=True)\n"
            "  out = [libc.shmget(0, 1 << 20, 0o1600), ctypes.get_errno(),\n"
            "         libc.semget(0, 1, 0o1600), libc.msgget(0, 0o1600)]\n  return out\n")
  result = run(pool, source)
  assert result.status is Status.RETURNED, result
  assert result.value == [-1, 1, -1, -1]           # EPERM


@pytest.mark.parametrize("name", zygote.PRELOADED_MODULES)
def test_stdlib_modules_a_verifier_may_use_import(pool, name):
  """The interpreter's files may be unreadable to the child's uid (e.g. under /root/.pyenv): the
  modules verifiers reasonably use are preloaded by the worker (issue 19: subprocess, mmap and
  encodings.idna failed to import)."""
  source = "import importlib\ndef f(name):\n  importlib.import_module(name)\n  return 1\n"
  assert pool.run(source, "f", {"name": name}).value == 1


@pytest.mark.parametrize("body, expected", [
    ("return 'b\u00fccher.de'.encode('idna').decode()", "xn--bcher-kva.de"),
    ("import mmap\n  m = mmap.mmap(-1, 4096)\n  m[:2] = b'hi'\n  return m[:2].decode()", "hi"),
    ("from urllib.parse import urlparse\n  return urlparse('https://a.b/c?d=1').path", "/c"),
    ("import subprocess\n  try:\n    subprocess.run(['true'])\n  except OSError as e:\n"
     "    return type(e).__name__\n  return 'ran'", "PermissionError"),
])
def test_preloaded_modules_work_and_stay_confined(pool, body, expected):
  assert pool.run(f"def f():\n  {body}\n", "f", {}).value == expected


# ---- each task's directory is fresh (issue 19, items 1, 3, 4) -------------------------------------
_STATEFUL = """import os
def verify(state, answer, messages):
  seen = False
  try:
    os.getxattr('.', 'user.seen')
    seen = True
  except OSError:
    pass
  info = os.stat('.')
  seen = seen or info.st_mtime_ns == 12345 or info.st_atime_ns == 12345 or os.listdir('.') != []
  for step in (lambda: os.setxattr('.', 'user.seen', b'1'), lambda: os.utime('.', ns=(12345, 12345)),
               lambda: open('marker', 'w').close()):
    try:
      step()
    except OSError:
      pass
  return not seen
"""
_DEEP_TREE = ("import os\ndef f():\n  for _ in range(3000):\n    try:\n      os.mkdir('d')\n"
              "      os.chdir('d')\n    except OSError:\n      break\n  return 1\n")
_FLAT_TREE = ("import os\ndef f():\n  for i in range(9000):\n    try:\n      os.mkdir(str(i))\n"
              "    except OSError:\n      break\n  return 1\n")
_FILL_DISK = ("import os\ndef f():\n  total = 0\n  for i in range(4000):\n    try:\n"
              "      with open(str(i), 'wb') as out:\n        out.write(b'x' * (48 << 10))\n"
              "      total += 48 << 10\n    except OSError:\n      break\n  return total\n")


@pytest.fixture(scope="module", params=["tmpfs", "reset"])
def one_worker(request):
  """One worker, so consecutive tasks share it: with a tmpfs per task, and with the fallback reset
  of one directory (hosts without mount rights)."""
  disable = ("tmpfs",) if request.param == "reset" else ()
  with SandboxPool(num_workers=1, limits=LIMITS, disable_layers=disable) as p:
    assert p.layers["tmpfs"] is (request.param == "tmpfs")
    yield p


def test_no_state_survives_between_tasks(one_worker):
  """xattrs, times and files of the work dir: a verifier that passes once and fails afterwards
  through them would be kept by check_task with failure cases equal to its solution."""
  results = one_worker.map([Job.verify(_STATEFUL, {}, "", [])] * 6)
  assert [r.value for r in results] == [True] * 6, results


@pytest.mark.parametrize("source", [_DEEP_TREE, _FLAT_TREE], ids=["deep_3000", "flat_9000"])
def test_any_tree_is_cleaned_without_costing_the_next_task(one_worker, source):
  good = Job.verify(VERIFY_X, {"x": 1}, "ok", [])
  results = one_worker.map([Job(source, "f", {}), good, good])
  # The builder itself may run out of CPU time on a busy host; whatever it built stays behind.
  assert results[0].status in (Status.RETURNED, Status.TIMEOUT), results[0]
  assert [r.value for r in results[1:]] == [True, True], results
  start = time.monotonic()
  assert one_worker.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
  assert time.monotonic() - start < LIMITS.wall_s
  # Without a tmpfs the tree went aside and a background process removes it: nothing stays.
  home = one_worker._workers[0].workdir
  deadline = time.monotonic() + 120
  while any(name.startswith(".trash-") for name in os.listdir(home)):
    assert time.monotonic() < deadline, os.listdir(home)
    time.sleep(0.2)


def test_background_removal_holds_no_descriptor_and_leaves_no_child(tmp_path):
  """tree.remove_in_background: the tree goes, the caller is left with no child to reap, and the
  remover kept none of the caller's pipes open (a worker's protocol pipe must see EOF when the
  worker dies, not when a remover ends). Run in a fresh single-threaded interpreter, as in a
  worker: forking this (multithreaded) test process could deadlock."""
  script = """
import os, sys, time
from selfchallenge_jax.sandbox import tree
root = sys.argv[1]
work = os.path.join(root, "work")
os.mkdir(work)
path = work
for _ in range(300):
  path = os.path.join(path, "d")
  os.mkdir(path)
open(os.path.join(work, "f"), "w").close()
trash = tree.move_entries(work, root)
assert trash is not None and os.listdir(work) == [] and sorted(os.listdir(trash)) == ["d", "f"]
assert tree.move_entries(work, root) is None          # nothing to move: no trash
read_fd, write_fd = os.pipe()
os.set_inheritable(write_fd, True)
forked = []
def fork():
  pid = os.fork()
  forked.append(pid)
  return pid
tree.remove_in_background(trash, fork)
os.close(write_fd)
assert os.read(read_fd, 1) == b""      # EOF: no other process holds the write end
assert len(forked) == 1
try:
  os.waitpid(forked[0], os.WNOHANG)
  raise AssertionError("the intermediate child was not reaped")
except ChildProcessError:
  pass
deadline = time.monotonic() + 60
while os.path.exists(trash):
  assert time.monotonic() < deadline
  time.sleep(0.05)
print("ok")
"""
  r = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                     text=True, timeout=120, env={k: v for k, v in os.environ.items()
                                                  if k != "XLA_FLAGS"})
  assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_disk_use_is_capped_per_task(one_worker):
  if not one_worker.layers["tmpfs"]:
    pytest.skip("without mount rights only each file is capped (max_output_bytes)")
  results = one_worker.map([Job(_FILL_DISK, "f", {})] * 2)
  for r in results:
    assert r.status is Status.RETURNED and r.value <= LIMITS.max_disk_bytes, r


# ---- worker replacement and the isolation floor ------------------------------------------------
def test_dead_worker_is_replaced():
  with SandboxPool(num_workers=1, limits=LIMITS) as pool:
    old_pid = pool.worker_pids[0]
    os.kill(old_pid, signal.SIGKILL)
    assert pool.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
    assert pool.worker_pids[0] not in (None, old_pid)


def test_hung_worker_is_replaced(monkeypatch):
  monkeypatch.setattr(worker_handle, "_REPLY_GRACE_S", 0.5)
  limits = SandboxLimits(cpu_s=1, wall_s=0.5)
  with SandboxPool(num_workers=1, limits=limits) as pool:
    old_pid = pool.worker_pids[0]
    os.kill(old_pid, signal.SIGSTOP)
    lost = pool.verify(VERIFY_X, {"x": 1}, "ok", [])
    assert (lost.status, lost.error_kind) == (Status.ERROR, ErrorKind.WORKER_LOST)
    assert pool.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
    assert pool.worker_pids[0] != old_pid


def test_workers_outlive_the_thread_that_started_them():
  """PR_SET_PDEATHSIG fires when the forking *thread* exits: workers are forked from the
  long-lived spawner thread, so a pool made (and a worker replaced) in a short-lived thread keeps
  serving after that thread has returned (issue 19, item 7)."""
  import threading
  made = {}
  thread = threading.Thread(target=lambda: made.setdefault("pool", SandboxPool(num_workers=1,
                                                                               limits=LIMITS)))
  thread.start()
  thread.join()
  with made["pool"] as pool:
    old_pid = pool.worker_pids[0]
    time.sleep(0.5)                        # a PDEATHSIG kill would have landed by now
    assert pool.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
    assert pool.worker_pids[0] == old_pid
    os.kill(old_pid, signal.SIGKILL)
    replaced = threading.Thread(target=lambda: made.setdefault(
        "verdict", pool.verify(VERIFY_X, {"x": 1}, "ok", [])))
    replaced.start()
    replaced.join()
    new_pid = pool.worker_pids[0]
    time.sleep(0.5)
    assert pool.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED
    assert pool.worker_pids[0] == new_pid != old_pid


def test_close_kills_every_worker():
  pool = SandboxPool(num_workers=2, limits=LIMITS)
  pids = pool.worker_pids
  pool.close()
  for pid in pids:
    with pytest.raises(ProcessLookupError):
      os.kill(pid, 0)
  with pytest.raises(RuntimeError):
    pool.run("def f():\n  return 1\n", "f", {})


def test_refuses_to_run_below_the_minimum():
  with pytest.raises(SandboxUnavailableError, match="NETWORK"):
    SandboxPool(num_workers=1, limits=LIMITS, disable_layers=("seccomp", "landlock"))
  with SandboxPool(num_workers=1, limits=LIMITS, disable_layers=("seccomp", "landlock"),
                   min_isolation=IsolationLevel.NETWORK) as weaker:
    assert weaker.isolation_level == IsolationLevel.NETWORK
    assert weaker.verify(VERIFY_X, {"x": 1}, "ok", []).status is Status.PASSED


@pytest.mark.parametrize("layers, abi, level", [
    ({}, 0, IsolationLevel.NONE),
    ({"rlimits": True}, 0, IsolationLevel.BASIC),
    ({"rlimits": True, "uid": True}, 0, IsolationLevel.PROCESS),
    ({"rlimits": True, "landlock": True}, 5, IsolationLevel.BASIC),
    ({"rlimits": True, "landlock": True}, 6, IsolationLevel.PROCESS),
    ({"rlimits": True, "uid": True, "netns": True}, 0, IsolationLevel.NETWORK),
    ({"rlimits": True, "uid": True, "seccomp": True, "landlock": True}, 7, IsolationLevel.STRICT),
])
def test_level_of(layers, abi, level):
  assert isolation.level_of(layers, abi) == level
