"""The run report: report.md (before/after table with a paired interval, keep rates per rejection
reason, time split, plots) and report.json, the same facts for programs:

  wall_s, phases {name: seconds}, init, eval_before / eval_after {family: {pass_at_1, pass_at_k,
  episodes, tasks}, "average": ...}, delta (after - before, paired bootstrap interval over tasks),
  challenge {records, parsed, kept, reasons, rates}, train {steps, skipped, kept_tasks,
  tasks_trained}.
"""

from __future__ import annotations

import json
from typing import Any

from etils import epath

from selfchallenge_jax.evaluation.paired import interval_text, paired_bootstrap, task_pass_rates
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.pipeline.metrics import MetricsWriter


def _load(path: epath.Path) -> dict[str, Any] | None:
  return json.loads(path.read_text()) if path.exists() else None


def _plot(rows: list[dict[str, Any]], keys: list[str], title: str, out: epath.Path) -> bool:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  series = {k: [(r["step"], r[k]) for r in rows if k in r] for k in keys}
  if not any(series.values()):
    return False
  fig, ax = plt.subplots(figsize=(6, 3.5))
  for k, points in series.items():
    if points:
      ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=k)
  ax.set_xlabel("train step")
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  with out.open("wb") as f:
    fig.savefig(f, format="png", dpi=100)
  plt.close(fig)
  return True


def _eval_summary(result: dict[str, Any] | None) -> dict[str, Any] | None:
  if result is None:
    return None
  out = {family: {"pass_at_1": env["pass_at_1"], "pass_at_k": env["pass_at_k"],
                  "episodes": env["num_episodes"], "tasks": env["num_tasks"]}
         for family, env in result["envs"].items()}
  out["average"] = {"pass_at_1": result["pass_at_1"], "pass_at_k": result["pass_at_k"],
                    "episodes": sum(env["num_episodes"] for env in result["envs"].values()),
                    "k": result["k"]}
  return out


def _challenge_summary(stats: dict[str, Any] | None) -> dict[str, Any] | None:
  if stats is None:
    return None
  reasons = stats["reasons"]
  unparseable = reasons.get("unparseable", 0) + reasons.get("no_failure_cases", 0)
  return {"records": stats["total"], "parsed": stats["total"] - unparseable,
          "kept": reasons.get("kept", 0), "reasons": reasons, "rates": stats["rates"],
          "per_family": stats.get("per_family", {})}


def report_json(ctx: RunContext, phases: dict[str, Any], before, after, challenge) -> dict:
  train = phases.get("train", {})
  delta = None
  if before and after:
    delta = paired_bootstrap(task_pass_rates(before), task_pass_rates(after), seed=ctx.config.seed)
  return {"wall_s": ctx.elapsed(), "init": ctx.init.spec,
          "phases": {name: p.get("phase_seconds") for name, p in sorted(phases.items())},
          "eval_before": _eval_summary(before), "eval_after": _eval_summary(after), "delta": delta,
          "challenge": _challenge_summary(challenge),
          "train": {"steps": train.get("steps"), "skipped": train.get("skipped"),
                    "kept_tasks": train.get("kept_tasks"),
                    "tasks_trained": train.get("tasks_trained")}}


def write_report(ctx: RunContext) -> dict:
  before = _load(ctx.path("eval_before.json"))
  after = _load(ctx.path("eval_after.json"))
  challenge = _load(ctx.path("challenge_stats.json"))
  phases = {p.stem: json.loads(p.read_text()) for p in ctx.path("phases").glob("*.json")}
  rows = [r for r in MetricsWriter(ctx.workdir).read() if r.get("phase") == "train"]
  summary = report_json(ctx, phases, before, after, challenge)
  lines = ["# Self-challenging run report", "",
           f"Config: `{ctx.config.phases}` on families {ctx.families}, starting from "
           f"`{ctx.init.spec}`; workdir `{ctx.workdir}`.", ""]
  lines += ["## Held-out evaluation (pass@1, percent)", "",
            "Measured: the policy's episodes on generated tasks of each family with seed "
            f"{ctx.config.eval.seed} (never used by bootstrapping, seed {ctx.config.bootstrap.demo_seed}, "
            f"or the challenger, seeds from {ctx.config.challenge.seed}); "
            f"{ctx.config.eval.tasks_per_family} tasks per family, {ctx.config.eval.k} samples per task.",
            "", "| environment | before | after | ratio |", "|---|---|---|---|"]
  if before and after:
    for env in before["envs"]:
      b = before["envs"][env]["pass_at_1"]
      a = after["envs"].get(env, {}).get("pass_at_1", float("nan"))
      ratio = f"{a / b:.2f}x" if b > 0 else ("inf" if a > 0 else "-")
      lines.append(f"| {env} | {100 * b:.1f} | {100 * a:.1f} | {ratio} |")
    lines.append(f"| **average** | {100 * before['pass_at_1']:.1f} | {100 * after['pass_at_1']:.1f} "
                 f"| |")
    lines += ["", f"Change of the average: {interval_text(summary['delta'])}, tasks resampled "
              "within each family."]
  else:
    lines.append("| (eval_before / eval_after not both run) | | | |")
  lines += ["", "## Challenger keep rates", ""]
  if challenge:
    rates = challenge["rates"]
    lines += [f"{challenge['total']} challenger outputs: " + ", ".join(
        f"{k} {100 * v:.1f}%" for k, v in rates.items()), "",
              "| rejection reason | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in challenge["reasons"].items()]
  if phases.get("train", {}).get("skipped"):
    lines += ["", f"**Training was skipped**: {phases['train']['skipped']}"]
  lines += ["", "## Time split (seconds)", "", f"Wall time so far: {summary['wall_s']:.0f} s.", "",
            "| phase | seconds |", "|---|---|"]
  lines += [f"| {name} | {p.get('phase_seconds', 0):.0f} |" for name, p in sorted(phases.items())]
  if rows:
    keys = ["time/sampling_s", "time/verification_wait_s", "time/ref_logprobs_s", "time/update_s"]
    lines += ["", "Train iteration split (sum over steps): " + ", ".join(
        f"{k.split('/')[1]} {sum(r.get(k, 0) for r in rows):.0f}s" for k in keys)]
  plots = []
  if _plot(rows, ["reward/mean"], "reward per step", ctx.path("reward.png")):
    plots.append("reward.png")
  if _plot(rows, ["reward/pass_rate"], "pass rate per step", ctx.path("pass_rate.png")):
    plots.append("pass_rate.png")
  lines += [""] + [f"![{p}]({p})" for p in plots]
  ctx.path("report.md").write_text("\n".join(lines) + "\n")
  ctx.path("report.json").write_text(json.dumps(summary, indent=2))
  print(f"[report] {ctx.path('report.md')}, {ctx.path('report.json')}")
  return {"plots": plots}
