"""The fast path's pieces: raw fork, the prepared fd layout, constant verdict reports."""

from __future__ import annotations

import os
import threading

import pytest

from selfchallenge_jax.sandbox import SandboxLimits, SandboxPool, Status, fastfork, prepared

LIMITS = SandboxLimits(cpu_s=1, wall_s=2, memory_bytes=256 << 20)


@pytest.fixture(scope="module")
def pool():
  with SandboxPool(num_workers=1, limits=LIMITS) as p:
    yield p


def test_children_still_get_distinct_random_seeds(pool):
  source = "import random\ndef f():\n  return random.getrandbits(64)\n"
  values = [pool.run(source, "f", {}).value for _ in range(4)]
  assert len(set(values)) == 4, values


def test_verdict_reports_keep_their_meaning(pool):
  for value, status in ((True, Status.PASSED), (False, Status.FAILED)):
    source = f"def verify(state, answer, messages):\n  return {value}\n"
    assert pool.verify(source, {}, "", []).status is status
  # 1 == True and hash(1) == hash(True): an int must not take the constant bool report.
  result = pool.verify("def verify(state, answer, messages):\n  return 1\n", {}, "", [])
  assert result.status is Status.ERROR


def test_kwargs_are_a_private_copy_per_child(pool):
  source = "def f(state):\n  state['n'] += 1\n  state['seen'].append(1)\n  return state\n"
  for _ in range(3):
    assert pool.run(source, "f", {"state": {"n": 0, "seen": []}}).value == {"n": 1, "seen": [1]}


def test_single_threaded_sees_threads():
  stop = threading.Event()
  thread = threading.Thread(target=stop.wait)
  thread.start()
  try:
    assert not fastfork.single_threaded()
  finally:
    stop.set()
    thread.join()


def test_fork_without_raw_is_os_fork():
  pid = fastfork.fork(raw=False)
  if pid == 0:
    os._exit(7)
  _, status = os.waitpid(pid, 0)
  assert os.WEXITSTATUS(status) == 7


class _Setup:
  uid = None
  ruleset_fd = None
  seccomp_program = None
  cpu_s = 1
  memory_bytes = 256 << 20
  max_open_files = 64
  max_output_bytes = 1 << 20
  max_result_bytes = 1 << 16

  def __init__(self, workdir: str) -> None:
    self.workdir = workdir
    self.worker_pid = os.getpid()


def test_fd_layout():
  """The worker places /dev/null on 0, output on 1 and 2, the result pipe on 3; the child keeps
  exactly those and closes everything else it inherited."""
  confinement = prepared.Confinement(_Setup("/tmp"))
  read_fd, write_fd = os.pipe()
  out_fd = os.memfd_create("out")
  stray_fd = os.open(os.devnull, os.O_RDONLY)   # stands for the worker's own descriptors
  pid = os.fork()
  if pid == 0:
    try:
      stdin_fd = os.open(os.devnull, os.O_RDONLY)
      confinement.place_fds(stdin_fd, out_fd, write_fd)
      confinement.apply()
      os.write(1, b"out")
      os.write(3, b"result")
      open_fds = sorted(int(n) for n in os.listdir("/proc/self/fd"))
      ok = open_fds[:4] == [0, 1, 2, 3] and os.read(0, 1) == b""
      os._exit(0 if ok and len(open_fds) <= 5 else 1)   # listdir's own fd may show as 4
    finally:
      os._exit(2)
  os.close(write_fd)
  _, status = os.waitpid(pid, 0)
  assert os.WEXITSTATUS(status) == 0
  assert os.read(read_fd, 100) == b"result"
  assert os.pread(out_fd, 100, 0) == b"out"
  for fd in (read_fd, out_fd, stray_fd):
    os.close(fd)
  confinement.close()


def test_map_chunks_keep_order_and_one_child_per_job(pool):
  from selfchallenge_jax.sandbox import ErrorKind, Job
  leaves_file = ("import os\ndef f(i):\n  seen = sorted(os.listdir('.'))\n"
                 "  open('left_by_%d' % i, 'w').write('x')\n  return [i, seen, os.getpid()]\n")
  jobs = [Job(leaves_file, "f", {"i": i}) for i in range(12)]
  jobs[5] = Job(leaves_file, "f", {"i": object()})             # cannot travel: BAD_INPUT
  jobs[7] = Job("def f(i):\n  while True:\n    pass\n", "f", {"i": 7})   # CPU limit
  results = pool.map(jobs)
  assert (results[5].status, results[5].error_kind) == (Status.ERROR, ErrorKind.BAD_INPUT)
  assert results[7].status is Status.TIMEOUT
  good = [r for i, r in enumerate(results) if i not in (5, 7)]
  assert [r.value[0] for r in good] == [i for i in range(12) if i not in (5, 7)]
  assert all(r.value[1] == [] for r in good)                   # each child starts clean
  assert len({r.value[2] for r in good}) == len(good)           # and is its own process


def test_state_parts_are_private_per_child_even_when_reused(pool):
  """The worker reuses decoded parts of an unchanged state; a child's mutation must not leak."""
  state = {"users": {f"u{i}": {"n": i} for i in range(3000)}, "orders": {"o": {"s": "ok"}}}
  source = ("def verify(state, answer, messages):\n"
            "  clean = state['users']['u1'] == {'n': 1} and 'evil' not in state['users']\n"
            "  state['users']['u1']['n'] = 99; state['users']['evil'] = 1\n  return clean\n")
  for _ in range(4):
    assert pool.verify(source, state, "", []).status is Status.PASSED


def test_no_fd_status_flags_carry_over_between_tasks(pool):
  """stdin is /dev/null opened per child: O_NONBLOCK set by one task is not seen by the next."""
  setter = ("import fcntl, os\ndef f():\n"
            "  fcntl.fcntl(0, fcntl.F_SETFL, fcntl.fcntl(0, fcntl.F_GETFL) | os.O_NONBLOCK)\n"
            "  return bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK)\n")
  reader = "import fcntl, os\ndef f():\n  return bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK)\n"
  setter_result = pool.run(setter, "f", {})
  if setter_result.status is not Status.RETURNED:
    pytest.skip(f"fcntl not importable in the child here: {setter_result.message}")
  assert setter_result.value is True
  assert pool.run(reader, "f", {}).value is False


def test_state_too_big_for_the_worker_is_decoded_under_the_childs_memory_limit():
  """Blobs that could decode past memory_bytes go to the child, which reports MEMORY, not the
  worker (which has no memory limit)."""
  from selfchallenge_jax.sandbox import ErrorKind
  limits = SandboxLimits(cpu_s=5, wall_s=10, memory_bytes=64 << 20)
  rows = {f"k{i}": [f"v{i}-{j}" for j in range(40)] for i in range(60_000)}   # ~20 MB marshalled
  with SandboxPool(num_workers=1, limits=limits) as small:
    result = small.run("def f(rows):\n  return len(rows)\n", "f", {"rows": rows})
    assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.MEMORY), result
    ok = small.run("def f(rows):\n  return len(rows)\n", "f", {"rows": {"a": [1]}})
    assert ok.value == 1


def test_compiled_source_is_reused_but_each_child_runs_it_fresh(pool):
  """From the second run on, children inherit the worker's compiled code; the module body still
  runs in every child, and a child's changes to its functions or code never reach the next."""
  source = ("calls = []\n"
            "def f():\n"
            "  calls.append(1)\n"
            "  f.__code__ = (lambda: 'tampered').__code__\n"
            "  f.__defaults__ = None\n"
            "  return len(calls)\n")
  assert [pool.run(source, "f", {}).value for _ in range(4)] == [1] * 4


def test_forged_compile_marker_is_not_trusted(pool):
  """The first byte on the result pipe is written by the child before any untrusted code runs; a
  byte the code writes itself lands after it, so the forged report is unreadable."""
  from selfchallenge_jax.sandbox import ErrorKind, child
  padding = "#" * child.CACHEABLE_SOURCE_CHARS + "\n"   # too long to be cached by the worker
  source = padding + ("import os\ndef f():\n"
                      "  os.write(3, b'\\x00{\"ok\": true, \"value\": 1}')\n  os._exit(0)\n")
  for _ in range(2):
    result = pool.run(source, "f", {})
    assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.CRASHED), result


def test_syntax_errors_are_reported_every_time(pool):
  from selfchallenge_jax.sandbox import ErrorKind
  for _ in range(3):
    result = pool.run("def f(:\n", "f", {})
    assert (result.status, result.error_kind) == (Status.ERROR, ErrorKind.SYNTAX)


def test_one_state_shared_by_a_whole_map_is_private_per_child(pool):
  """A state passed to every job of a map() is encoded and sent once and then kept decoded by the
  worker; every child still sees the original, whatever the previous ones did to theirs."""
  from selfchallenge_jax.sandbox import Job
  state = {"users": {f"u{i}": {"n": i} for i in range(3000)}, "orders": {"o": {"s": "ok"}}}
  source = ("def verify(state, answer, messages):\n"
            "  clean = state['users']['u1'] == {'n': 1} and 'evil' not in state['users']\n"
            "  state['users']['u1']['n'] = 99; state['users']['evil'] = 1; state.clear()\n"
            "  return clean\n")
  for _ in range(3):
    results = pool.verify_map([Job.verify(source, state, "", [])] * 6)
    assert [r.status for r in results] == [Status.PASSED] * 6
  assert state["users"]["u1"] == {"n": 1} and "evil" not in state["users"]
