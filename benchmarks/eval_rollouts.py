"""Benchmark: the main job's evaluation rollouts, one extend policy against another, same run.

  python -m benchmarks.eval_rollouts --config=configs/smollm2_cpu.py --workdir=RUN_DIR
      [--tasks_per_family=6 --k=4 --out=FILE.json]

The workload is the real one: held-out generated calculation and web-browsing tasks (eval seed),
the latest policy of the run in --workdir (any run past its bootstrap phase), its chat format and engine budgets. Each policy runs the evaluation twice on one engine: the
first pass compiles the programs its shapes need (reported as `compile_pass_s`), the second is
timed. Same tasks, seed and policy, so the two passes and the two policies sample the same
episodes (up to float rounding of different batch shapes); the report checks how many differ.
Policies (--policies, any of): `batched` (rows >= 8, every pending row in one extend, decode
chunks on all slots: the accelerator default), `split` (the config's sampling.min_extend_rows /
extend_overhead_tokens, whole-batch decode) and `config` (the config's sampling as it is, e.g.
with compact_decode).
"""

from __future__ import annotations

import os
import time

from absl import app, flags
from ml_collections import config_flags

from benchmarks import report

_CONFIG = config_flags.DEFINE_config_file("config", "configs/smollm2_cpu.py", "run config")
flags.DEFINE_string("workdir", None, "a run's workdir (its latest policy)", required=True)
flags.DEFINE_integer("tasks_per_family", 6, "held-out tasks per family")
flags.DEFINE_integer("k", 4, "samples per task")
flags.DEFINE_list("policies", ["batched", "split", "config"], "engine policies to compare")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS


def _policy(name: str, s) -> dict:
  config = dict(min_extend_rows=s.min_extend_rows, extend_overhead_tokens=s.extend_overhead_tokens,
                compact_decode=s.compact_decode)
  policies = {"batched": dict(min_extend_rows=8, extend_overhead_tokens=-1, compact_decode=False),
              "split": {**config, "compact_decode": False}, "config": config}
  if name not in policies:
    raise ValueError(f"unknown policy {name!r}; known: {', '.join(policies)}")
  return policies[name]


def _pass(engine, tasks, k: int, seed: int) -> tuple[float, list, dict]:
  from selfchallenge_jax.evaluation.evaluate import evaluate
  engine.stats = type(engine.stats)()
  t0 = time.perf_counter()
  result = evaluate(engine, tasks, k=k, seed=seed)
  wall = time.perf_counter() - t0
  s = engine.stats
  stats = {"wall_s": wall, "extend_s": s.extend_s, "decode_s": s.decode_s, "extends": s.extends,
           "extend_tokens": s.extend_tokens, "extend_token_rows": s.extend_token_rows,
           "extend_efficiency": s.extend_tokens / max(s.extend_token_rows, 1),
           "decode_steps": s.decode_steps, "sampled_tokens": s.sampled_tokens,
           "pass_at_1": result.pass_at_1}
  rewards = [r for env in result.envs.values() for t in env.tasks for r in t.rewards]
  return wall, rewards, stats


def main(argv):
  del argv
  import jax
  from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
  from selfchallenge_jax.pipeline.context import RunContext
  from selfchallenge_jax.pipeline.engine_factory import make_engine
  config = _CONFIG.value
  ctx = RunContext(config, FLAGS.workdir)
  model_config, params = ctx.load_policy()
  s = config.sampling
  tasks = builtin_task_sets({f: FLAGS.tasks_per_family for f in ("calculation", "web_browsing")},
                            config.eval.seed)
  result = {"benchmark": "eval_rollouts", "init": config.init, "workdir": FLAGS.workdir,
            "tasks_per_family": FLAGS.tasks_per_family, "k": FLAGS.k,
            "num_slots": s.num_slots, "cache_len": s.cache_len,
            "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg(),
                        "jax": jax.__version__}}
  sampled = {}
  for name in FLAGS.policies:
    overrides = _policy(name, s)
    engine = make_engine(ctx, params, model_config, **overrides)
    try:
      compile_wall, _, _ = _pass(engine, tasks, FLAGS.k, config.eval.seed)
      wall, rewards, stats = _pass(engine, tasks, FLAGS.k, config.eval.seed)
    finally:
      engine.close()
    result[name] = {**overrides, **stats, "compile_pass_s": compile_wall}
    sampled[name] = rewards
  first = FLAGS.policies[0]
  for name in FLAGS.policies[1:]:
    result[f"{name}_vs_{first}"] = {
        "speedup": result[first]["wall_s"] / result[name]["wall_s"],
        "extend_speedup": result[first]["extend_s"] / result[name]["extend_s"],
        "decode_speedup": result[first]["decode_s"] / result[name]["decode_s"],
        "rewards_differing": sum(a != b for a, b in zip(sampled[first], sampled[name]))}
  result["machine"]["load_avg_end"] = os.getloadavg()
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
