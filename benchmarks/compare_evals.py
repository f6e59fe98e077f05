"""Paired comparison of evaluations of the same held-out tasks, e.g. a run against its control.

  python -m benchmarks.compare_evals --base=RUN/eval_before.json \
      --runs=after:RUN/eval_after.json,control:CONTROL/eval_after.json [--out=FILE.json]

Each run is compared with --base, and every later run with the earlier ones, by
evaluation.paired.paired_bootstrap (per-task pass rates, tasks resampled within each family,
families weighted equally: the report's headline measure). The evaluations must have scored the
same tasks (same eval seed and task count), or it says which family differs.
"""

from __future__ import annotations

import itertools
import json

from absl import app, flags

from benchmarks import report
from selfchallenge_jax.evaluation.paired import paired_bootstrap, task_pass_rates

flags.DEFINE_string("base", None, "the reference evaluation (eval_<tag>.json)", required=True)
flags.DEFINE_list("runs", None, "name:path of each evaluation to compare", required=True)
flags.DEFINE_integer("seed", 0, "bootstrap seed")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS


def _load(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def main(argv):
  del argv
  files = {"base": FLAGS.base}
  for item in FLAGS.runs:
    name, sep, path = item.partition(":")
    if not sep or not name or name in files:
      raise app.UsageError(f"--runs wants distinct name:path items, got {item!r}")
    files[name] = path
  evals = {name: _load(path) for name, path in files.items()}
  rates = {name: task_pass_rates(e) for name, e in evals.items()}
  result = {"benchmark": "compare_evals", "files": files,
            "pass_at_1": {name: {"average": e["pass_at_1"],
                                 **{f: r["pass_at_1"] for f, r in e["envs"].items()},
                                 "episodes": {f: r["num_episodes"] for f, r in e["envs"].items()}}
                          for name, e in evals.items()},
            "paired": {}}
  for first, second in itertools.combinations(evals, 2):
    result["paired"][f"{second}_minus_{first}"] = paired_bootstrap(
        rates[first], rates[second], seed=FLAGS.seed)
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
