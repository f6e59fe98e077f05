"""Verifier throughput: isolated SandboxPool vs a fresh `python -I -S` per call, in the same run.

    python benchmarks/sandbox_throughput.py [--seconds 5] [--large_mb 4]

Prints one JSON object. The bar (shared/SANDBOX.md): >= 300 isolated verifications/s per core for a
small verifier on a ~100 KB state. The machine may be shared: the load average is recorded, and CPU
time per verification (pool process + workers + their children) is reported beside wall rates.

Two pool figures per state size:
  isolated_pool          every verification passes the same state: encoded once per verify_map()
                         call, and its parts stay decoded in the workers (kwargs_codec).
  isolated_pool_fresh    every verification passes a state that differs from the last
                         FRESH_VARIANTS in every large part, so nothing is reused: the worst case.
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


FRESH_VARIANTS = 64


def fresh_variants(state: dict[str, Any], count: int) -> list[dict[str, Any]]:
  """`count` states equal to `state` except for one user and one order each (not the ones VERIFIER
  reads): every large part's bytes differ between variants. Shallow copies share the rest."""
  first_user, first_order = next(iter(state["users"])), next(iter(state["orders"]))
  variants = []
  for v in range(count):
    users, orders = dict(state["users"]), dict(state["orders"])
    users[first_user] = {**users[first_user], "email": f"variant{v}@example.com"}
    orders[first_order] = {**orders[first_order], "note": f"variant {v}"}
    variants.append({"users": users, "orders": orders})
  return variants


def _cpu_seconds(pids: list[int | None]) -> dict[str, float]:
  """CPU seconds of this process (with reaped children), of the given live processes, and of
  their reaped children (the task children)."""
  times = os.times()
  cpu = {"parent": times.user + times.system + times.children_user + times.children_system,
         "workers": 0.0, "children": 0.0}
  ticks = os.sysconf("SC_CLK_TCK")
  for pid in pids:
    if pid is None:
      continue
    with open(f"/proc/{pid}/stat") as f:
      fields = [int(x) for x in f.read().rsplit(")", 1)[1].split()[11:15]]
    cpu["workers"] += (fields[0] + fields[1]) / ticks     # utime stime
    cpu["children"] += (fields[2] + fields[3]) / ticks    # cutime cstime
  return cpu


def _summary(done: int, elapsed: float, cpu: dict[str, float]) -> dict[str, Any]:
  # On a shared machine wall-clock rates depend on the neighbours; CPU seconds per call less so.
  total = sum(cpu.values())
  return {"verifications": done, "seconds": round(elapsed, 3),
          "per_second": round(done / elapsed, 1),
          "cpu_ms_per_verification": round(1000 * total / done, 3),
          "cpu_ms_split": {k: round(1000 * v / done, 3) for k, v in cpu.items()},
          "per_cpu_second": round(done / total, 1),
          "loadavg_1min": round(os.getloadavg()[0], 2)}


def _minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
  return {k: after[k] - before[k] for k in after}


def bench_pool(pool: SandboxPool, states: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
  """Batches of 4 jobs per worker through verify_map (as check_tasks does), cycling `states`."""
  size = 4 * len(pool.worker_pids)
  def batch(start: int) -> list[Job]:
    return [Job.verify(VERIFIER, states[(start + i) % len(states)], "Austin", messages())
            for i in range(size)]
  assert all(r.status is Status.PASSED for r in pool.verify_map(batch(0))), "verifier must pass"
  pids = pool.worker_pids
  done, start, cpu_start = 0, time.perf_counter(), _cpu_seconds(pids)
  while time.perf_counter() - start < seconds:
    results = pool.verify_map(batch(done))
    assert all(r.status is Status.PASSED for r in results)
    done += len(results)
  elapsed = time.perf_counter() - start
  assert pool.worker_pids == pids, "a worker was replaced during the benchmark"
  return _summary(done, elapsed, _minus(_cpu_seconds(pids), cpu_start))


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
  return _summary(done, elapsed, _minus(_cpu_seconds([]), cpu_start))


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
      isolated = bench_pool(pool, [state], args.seconds)
      fresh = bench_pool(pool, fresh_variants(state, FRESH_VARIANTS), args.seconds)
      baseline = bench_subprocess(state, args.seconds)
      report[label] = {
          "state_bytes": state_bytes,
          "isolated_pool": isolated,
          "isolated_per_second_per_core": round(isolated["per_second"] / cores, 1),
          "isolated_pool_fresh": fresh,
          "isolated_fresh_per_second_per_core": round(fresh["per_second"] / cores, 1),
          "subprocess_python_I_S": baseline,   # one call at a time: one core
          "subprocess_per_second_per_core": baseline["per_second"],
      }
  report["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
  small = report["small"]
  report["meets_300_per_core_small"] = small["isolated_per_second_per_core"] >= 300
  report["meets_300_per_core_small_fresh"] = small["isolated_fresh_per_second_per_core"] >= 300
  # What the rate would be with both cores to ourselves: 1000 / CPU ms per verification.
  report["cpu_bound_per_core_small"] = round(1000 / small["isolated_pool"]["cpu_ms_per_verification"], 1)
  report["cpu_bound_per_core_small_fresh"] = round(
      1000 / small["isolated_pool_fresh"]["cpu_ms_per_verification"], 1)
  print(json.dumps(report, indent=2))


if __name__ == "__main__":
  main()
