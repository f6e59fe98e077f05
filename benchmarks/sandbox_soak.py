"""Sandbox soak: random mixes of good verifiers and hostile ones through one pool (not in CI).

    python benchmarks/sandbox_soak.py [--minutes 30] [--workers 2] [--batch 16] [--out FILE]

Each batch is a random mix of good verifiers with a known verdict (True or False, on a ~100 KB
state) and hostile jobs (the attacks of tests/sandbox: deep and flat directory trees, a disk
filler, state kept in the work dir's xattrs / times, SysV IPC, hand-written reports nested deep
or growing when re-encoded, CPU / wall / memory / output exhaustion, fork bombs, early exits).
Reported: verifications done, wrong verdicts on good jobs (must be 0; a WORKER_LOST there counts
as wrong), worker restarts, peak RSS of the pool process and its workers, peak disk use of the
pool's directory, and after close() any surviving worker process, directory or SysV IPC object.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.report import emit  # noqa: E402
from selfchallenge_jax.sandbox import Job, SandboxLimits, SandboxPool, Status  # noqa: E402

GOOD = "def verify(state, answer, messages):\n  return state['items'][7]['price'] == float(answer)\n"


def _f(body: str) -> str:
  return "import os\ndef f():\n" + "".join(f"  {line}\n" for line in body.splitlines())


HOSTILE = {
    "deep_tree": _f("for _ in range(3000):\n  try:\n    os.mkdir('d')\n    os.chdir('d')\n"
                    "  except OSError:\n    break\nreturn 1"),
    "flat_tree": _f("for i in range(9000):\n  try:\n    os.mkdir(str(i))\n  except OSError:\n"
                    "    break\nreturn 1"),
    "fill_disk": _f("for i in range(4000):\n  try:\n    with open(str(i), 'wb') as out:\n"
                    "      out.write(b'x' * (48 << 10))\n  except OSError:\n    break\nreturn 1"),
    "xattr_state": _f("try:\n  os.setxattr('.', 'user.seen', b'1')\nexcept OSError:\n  pass\n"
                      "os.utime('.', ns=(12345, 12345))\nreturn 1"),
    "sysv_ipc": "import ctypes\ndef f():\n  libc = ctypes.CDLL(None)\n"
                "  return [libc.shmget(0, 64 << 20, 0o1600), libc.semget(0, 1, 0o1600)]\n",
    "deep_report": _f("os.write(3, b'{\"ok\": true, \"value\": ' + b'[' * 980 + b']' * 980 + b'}')\n"
                      "os._exit(0)"),
    "growing_report": _f("os.write(3, ('{\"ok\": true, \"value\": \"' + '\\u00e9' * 8000 + '\"}')"
                         ".encode())\nos._exit(0)"),
    "cpu_loop": _f("while True:\n  pass"),
    "sleep": "import time\ndef f():\n  time.sleep(60)\n",
    "allocate": _f("return len(bytearray(8 << 30))"),
    "fork_bomb": _f("while True:\n  os.fork()"),
    "exit": _f("os._exit(3)"),
    "flood": _f("print('x' * (4 << 20))\nreturn 1"),
}


def _state() -> dict[str, Any]:
  return {"items": [{"name": f"item {i}", "price": round(i * 1.25, 2), "tags": ["a"] * 20}
                    for i in range(600)]}


def _worker_pids(pool: SandboxPool) -> list[int]:
  return [pid for pid in pool.worker_pids if pid is not None]


def _rss_bytes(pids: list[int]) -> int:
  total = 0
  for pid in pids:
    try:
      with open(f"/proc/{pid}/statm") as f:
        total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
      pass
  return total


def _disk_bytes(root: str) -> int:
  """Bytes under `root`, walked without recursion (a task may leave a 3000-deep tree)."""
  total, stack = 0, [root]
  while stack:
    try:
      with os.scandir(stack.pop()) as entries:
        for entry in entries:
          if entry.is_dir(follow_symlinks=False):
            stack.append(entry.path)
          else:
            total += entry.stat(follow_symlinks=False).st_size
    except OSError:
      pass
  return total


def _shmem_bytes() -> int:
  """The host's tmpfs / shared memory pages (where the per-task tmpfs lives: not visible under
  the pool's directory from outside the workers' mount namespaces)."""
  with open("/proc/meminfo") as f:
    for line in f:
      if line.startswith("Shmem:"):
        return int(line.split()[1]) * 1024
  return 0


def _ipc_objects() -> int:
  count = 0
  for kind in ("shm", "sem", "msg"):
    try:
      with open(f"/proc/sysvipc/{kind}") as f:
        count += max(0, len(f.read().splitlines()) - 1)
    except OSError:
      pass
  return count


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--minutes", type=float, default=30.0)
  parser.add_argument("--workers", type=int, default=2)
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--hostile_share", type=float, default=0.25)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default="")
  args = parser.parse_args()
  rng = random.Random(args.seed)
  state = _state()
  limits = SandboxLimits(cpu_s=1, wall_s=2, memory_bytes=256 << 20)
  ipc_before = _ipc_objects()
  counts = {"good": 0, "hostile": 0, "wrong_verdicts": 0, "worker_restarts": 0}
  hostile_seen: dict[str, dict[str, int]] = {}
  wrong: list[str] = []
  peak_rss = peak_disk = 0
  shmem_before, peak_shmem = _shmem_bytes(), 0
  start = time.monotonic()
  pool = SandboxPool(num_workers=args.workers, limits=limits)
  root = pool._root   # the pool's directory: measured, never touched
  pids = set(_worker_pids(pool))
  all_pids = set(pids)
  try:
    while time.monotonic() - start < args.minutes * 60:
      jobs, expected = [], []
      for _ in range(args.batch):
        if rng.random() < args.hostile_share:
          name = rng.choice(sorted(HOSTILE))
          jobs.append(Job(HOSTILE[name], "f", {}))
          expected.append(name)
        else:
          index = rng.randrange(600)
          truth = rng.random() < 0.5
          answer = str(state["items"][7]["price"] if truth else index * 10.0 + 0.5)
          jobs.append(Job.verify(GOOD, state, answer, []))
          expected.append(truth)
      for job_expected, result in zip(expected, pool.map(jobs)):
        if isinstance(job_expected, bool):
          counts["good"] += 1
          if not (result.status is Status.RETURNED and result.value is job_expected):
            counts["wrong_verdicts"] += 1
            wrong.append(f"{result.status.value}/{result.error_kind}: {result.message[:120]}")
        else:
          counts["hostile"] += 1
          kind = result.error_kind.value if result.error_kind else result.status.value
          hostile_seen.setdefault(job_expected, {}).setdefault(kind, 0)
          hostile_seen[job_expected][kind] += 1
      now = set(_worker_pids(pool))
      counts["worker_restarts"] += len(now - pids)
      pids = now
      all_pids |= now
      peak_rss = max(peak_rss, _rss_bytes([os.getpid(), *now]))
      peak_disk = max(peak_disk, _disk_bytes(root))
      peak_shmem = max(peak_shmem, _shmem_bytes() - shmem_before)
  finally:
    pool.close()
  time.sleep(0.5)
  surviving = sorted(pid for pid in all_pids if os.path.exists(f"/proc/{pid}"))
  emit({"benchmark": "sandbox_soak", "minutes": round((time.monotonic() - start) / 60, 2),
        "workers": args.workers, "isolation": pool.isolation_level.name, "layers": pool.layers,
        "verifications": counts["good"] + counts["hostile"], **counts,
        "wrong_examples": wrong[:10], "hostile_outcomes": hostile_seen,
        "peak_rss_mb": round(peak_rss / 2**20, 1), "peak_disk_mb": round(peak_disk / 2**20, 2),
        "peak_shmem_added_mb": round(peak_shmem / 2**20, 2),
        "after_close": {"surviving_workers": surviving, "directory_left": os.path.exists(root),
                        "ipc_objects_added": _ipc_objects() - ipc_before},
        "loadavg": os.getloadavg()}, args.out)


if __name__ == "__main__":
  main()
