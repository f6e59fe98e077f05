"""The control for the README's main job: the challenge + train phases' wall time spent on more
format warm-up (SFT on scripted demos) instead of self-challenging, then the same held-out eval.

  python -m launch.main --config=configs/smollm2_cpu_control.py --workdir=/tmp/selfchallenge_control
  python -m benchmarks.compare_evals --base=/tmp/selfchallenge/eval_before.json \
      --runs=after:/tmp/selfchallenge/eval_after.json,control:/tmp/selfchallenge_control/eval_after.json

Everything else is smollm2_cpu's: the same import, warm-up recipe (demo mix, lr, batch), eval
seed and size. The extra steps come from a measured main-job run (RESULTS.md, "Pretrained start"):
its challenge + train phases took CONTROL_EXTRA_SECONDS, its warm-up SFT steps SFT_STEP_SECONDS
each. The demo pool grows with the steps (the same mix), so the longer warm-up reads new demos
rather than more epochs of the same ones.
"""

import ml_collections

from configs import smollm2_cpu

CONTROL_EXTRA_SECONDS = 596 + 838       # challenge 596 s + train (4 GRPO steps) 838 s, 2026-12-07
SFT_STEP_SECONDS = 29.7                 # that run's bootstrap: 475 s / 16 steps, compile included


def get_config() -> ml_collections.ConfigDict:
  c = smollm2_cpu.get_config()
  base = c.bootstrap.steps
  c.bootstrap.steps = base + round(CONTROL_EXTRA_SECONDS / SFT_STEP_SECONDS)
  scale = -(-c.bootstrap.steps // base)   # ceil: more demos, not more epochs over the same ones
  c.bootstrap.executor_demos_per_family *= scale
  c.bootstrap.challenger_demos_per_family *= scale
  c.phases = "bootstrap,eval_after,report"
  return c
