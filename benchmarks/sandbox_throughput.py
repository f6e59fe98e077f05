"""Verifier throughput: isolated SandboxPool vs a fresh `python -I -S` per call, in the same run.

    python benchmarks/sandbox_throughput.py [--seconds 5] [--large_mb 4]

Prints one JSON object. The bar (shared/SANDBOX.md): >= 300 isolated verifications/s per core for a
small verifier on a ~100 KB state. The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from selfchallenge_jax.sandbox import IsolationLevel, Job, SandboxLimits, SandboxPool, Status  # noqa: E402

VERIFIER = """
def verify(state, answer, messages):
  order = state["orders"]["#W0000043"]
  user = state["users"][order["user_id"]]
  return order["status"] == "delivered" and user["address"]["city"] in answer and len(messages) == 2
"""
_BASELINE = """
import json, sys
payload = json.loads(sys.stdin.read())
ns = {}
exec(payload["source"], ns)
print(json.dumps(ns["verify"](payload["state"], payload["answer"], payload["messages"])))
"""


def synthetic_state(target_bytes: int) -> dict[str, Any]:
  """A retail-like database (users + orders) of roughly `target_bytes` when JSON-encoded."""
  users, orders = {}, {}
  i = 0
  while True:
    user_id = f"user_{i:06d}"
    users[user_id] = {"name": {"first": "Olivia", "last": f"Nguyen{i}"},
                      "email": f"olivia{i}@example.com",
                      "address": {"city": "Austin", "zip": f"{78700 + i % 99}", "street": f"{i} Main"},
                      "payment_methods": {f"paypal_{i}": {"source": "paypal", "id": f"paypal_{i}"}}}
    orders[f"#W{i:07d}"] = {"user_id": user_id, "status": "delivered" if i % 3 else "pending",
                            "items": [{"item_id": f"{i}{k}", "price": 10.5 + k, "name": "Skateboard"}
                                      for k in range(3)]}
    i += 1
    if i % 50 == 0 and len(json.dumps({"users": users, "orders": orders})) >= target_bytes:
      return {"users": users, "orders": orders}


def messages() -> list[dict[str, Any]]:
  return [{"kind": "tool", "name": "get_order_details", "arguments": {"order_id": "#W0000043"},
           "observation": "{...}"},
          {"kind": "respond", "content": "Shipped to Austin.", "reply": ""}]


def _cpu_seconds(pids: list[int | None]) -> float:
  """CPU time of this process, its reaped children and the given live processes with theirs."""
  times = os.times()
  total = times.user + times.system + times.children_user + times.children_system
  ticks = os.sysconf("SC_CLK_TCK")
  for pid in pids:
    if pid is None:
      continue
    with open(f"/proc/{pid}/stat") as f:
      fields = f.read().rsplit(")", 1)[1].split()
    total += sum(int(x) for x in fields[11:15]) / ticks   # utime stime cutime cstime
  return total


def _summary(done: int, elapsed: float, cpu: float) -> dict[str, float]:
  # On a shared machine wall-clock rates depend on the neighbours; CPU seconds per call do not.
  return {"verifications": done, "seconds": round(elapsed, 3),
          "per_second": round(done / elapsed, 1),
          "cpu_ms_per_verification": round(1000 * cpu / done, 3),
          "per_cpu_second": round(done / cpu, 1)}


def bench_pool(pool: SandboxPool, state: dict[str, Any], seconds: float) -> dict[str, float]:
  job = Job.verify(VERIFIER, state, "Austin", messages())
  batch = [job] * (4 * len(pool.worker_pids))
  assert all(r.status is Status.PASSED for r in pool.verify_map(batch)), "verifier must pass"
  pids = pool.worker_pids
  done, start, cpu_start = 0, time.perf_counter(), _cpu_seconds(pids)
  while time.perf_counter() - start < seconds:
    results = pool.verify_map(batch)
    assert all(r.status is Status.PASSED for r in results)
    done += len(results)
  elapsed = time.perf_counter() - start
  assert pool.worker_pids == pids, "a worker was replaced during the benchmark"
  return _summary(done, elapsed, _cpu_seconds(pids) - cpu_start)


def bench_subprocess(state: dict[str, Any], seconds: float) -> dict[str, float]:
  done, start, cpu_start = 0, time.perf_counter(), _cpu_seconds([])
  while time.perf_counter() - start < seconds or done == 0:
    # Encoded per call, as the pool does: each verification has its own final state.
    payload = json.dumps({"source": VERIFIER, "state": state, "answer": "Austin",
                          "messages": messages()})
    out = subprocess.run([sys.executable, "-I", "-S", "-c", _BASELINE], input=payload,
                         capture_output=True, text=True, check=True, env={})
    assert out.stdout.strip() == "true", out.stderr
    done += 1
  elapsed = time.perf_counter() - start
  return _summary(done, elapsed, _cpu_seconds([]) - cpu_start)


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--seconds", type=float, default=5.0)
  parser.add_argument("--small_kb", type=int, default=100)
  parser.add_argument("--large_mb", type=float, default=4.0)
  args = parser.parse_args()
  cores = os.cpu_count() or 1
  report: dict[str, Any] = {"cores": cores, "python": sys.version.split()[0],
                            "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
  limits = SandboxLimits(cpu_s=5, wall_s=10, memory_bytes=1 << 30)
  with SandboxPool(num_workers=cores, limits=limits,
                   min_isolation=IsolationLevel.STRICT) as pool:
    report["isolation_level"] = pool.isolation_level.name
    report["layers"] = pool.layers
    for label, size in (("small", args.small_kb << 10), ("large", int(args.large_mb * (1 << 20)))):
      state = synthetic_state(size)
      state_bytes = len(json.dumps(state))
      isolated = bench_pool(pool, state, args.seconds)
      baseline = bench_subprocess(state, args.seconds)
      report[label] = {
          "state_bytes": state_bytes,
          "isolated_pool": isolated,
          "isolated_per_second_per_core": round(isolated["per_second"] / cores, 1),
          "subprocess_python_I_S": baseline,   # one call at a time: one core
          "subprocess_per_second_per_core": baseline["per_second"],
      }
  report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
  report["meets_300_per_core_small"] = report["small"]["isolated_per_second_per_core"] >= 300
  print(json.dumps(report, indent=2))


if __name__ == "__main__":
  main()
