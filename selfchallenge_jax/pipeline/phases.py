"""The phases a run can list in config.phases, by name, each a function of the RunContext.

  bootstrap     tokenizer + SFT on scripted demos (pipeline/bootstrap.py)
  eval_<tag>    pass@1 / pass@k on held-out generated tasks -> eval_<tag>.json / .md
  challenge     the policy writes Code-as-Task records; the sandbox filters them -> tasks/challenge
  train         GRPO (or RFT) on the kept tasks (pipeline/train_phase.py)
  export        HF safetensors + config.json, loaded back by transformers, logits compared
  report        report.md with the before/after table, keep rates, time split, plots

Multi-process runs: every process runs every phase. Device work is global arrays over the run's
mesh; eval and challenger episodes are split by process and gathered (distributed/processes.py),
so all processes end a phase with the same figures; process 0 writes the files and the markers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import time
from typing import Callable

import jax
from absl import logging

from selfchallenge_jax.challenge.backends import PolicyBackend, ScriptedBackend, good_task_script
from selfchallenge_jax.challenge.openai_backend import OpenAIChallengerBackend
from selfchallenge_jax.challenge.run import episode_record, run_challenge
from selfchallenge_jax.checkpoint.export import check_hf_export, policy_logits
from selfchallenge_jax.checkpoint.hf_export import export_hf
from selfchallenge_jax.checkpoint.tokenizer_files import copy_tokenizer_files
from selfchallenge_jax.distributed import processes
from selfchallenge_jax.distributed.hosts import HostGroup
from selfchallenge_jax.evaluation.evaluate import evaluate, write_results
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.io.local_copies import local_dir
from selfchallenge_jax.pipeline.bootstrap import run_bootstrap
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.pipeline.engine_factory import make_engine
from selfchallenge_jax.pipeline.progress import Progress
from selfchallenge_jax.pipeline.report import write_report
from selfchallenge_jax.pipeline.train_phase import run_train
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sandbox.pool import SandboxPool

PhaseFn = Callable[[RunContext], dict]


def _policy_engine(ctx: RunContext, **overrides) -> RolloutEngine:
  """The newest policy, restored into the run mesh's shardings, sampling on this host's devices
  (the whole mesh with one process; multi-host: this host's block, as the train phase samples)."""
  config, params = ctx.load_policy()
  hosts = HostGroup(ctx.mesh, config)
  return make_engine(ctx, hosts.sampler_params(params), config, mesh=hosts.sampling_mesh,
                     **overrides)


def run_eval(ctx: RunContext, tag: str) -> dict:
  cfg = ctx.config.eval
  engine = _policy_engine(ctx)
  tasks = builtin_task_sets({f: cfg.tasks_per_family for f in ctx.families}, cfg.seed)
  progress = Progress(f"eval_{tag}", sum(len(t) for t in tasks.values()) * cfg.k)
  try:
    # Every episode's transcript, as scored (multi-process: all processes' episodes, by process 0).
    with _writer_file(ctx.path(f"eval_{tag}_episodes.jsonl")) as episodes:
      def write_episode(record: dict) -> None:
        episodes.write(json.dumps(record, default=str) + "\n")
      result = evaluate(engine, tasks, k=cfg.k, seed=cfg.seed, on_episode_end=progress.tick,
                        on_scored=write_episode)
  finally:
    engine.close()
  if processes.is_writer():
    write_results(result, ctx.workdir, name=f"eval_{tag}")
  pass_at_k = f"pass@{cfg.k} {100 * result.pass_at_k:.1f}%  " if cfg.k > 1 else ""
  print(f"[eval_{tag}] pass@1 {100 * result.pass_at_1:.1f}%  {pass_at_k}" + ", ".join(
            f"{n}: {100 * r.pass_at_1:.1f}%" for n, r in result.envs.items()))
  return {"pass_at_1": result.pass_at_1, "pass_at_k": result.pass_at_k,
          "per_env": {n: r.pass_at_1 for n, r in result.envs.items()},
          "seconds": engine.stats.wall_s}


def run_challenge_phase(ctx: RunContext) -> dict:
  cfg = ctx.config.challenge
  if cfg.backend == "policy":
    # temperature < 0: the run's sampling temperature (a config written before the field existed
    # has none: the same).
    temperature = cfg.get("temperature", -1.0)
    engine = _policy_engine(ctx, max_turn_tokens=cfg.max_turn_tokens,
                            max_episode_tokens=cfg.max_episode_tokens,
                            temperature=ctx.config.sampling.temperature if temperature < 0
                            else temperature)
    progress = Progress("challenge", cfg.tasks_per_family * len(ctx.families))
    backend = PolicyBackend(engine, include_policy=True, on_episode_end=progress.tick)
  elif cfg.backend == "endpoint":
    if not cfg.endpoint_url:
      raise ValueError("challenge.backend=endpoint needs --config.challenge.endpoint_url")
    engine, backend = None, OpenAIChallengerBackend(cfg.endpoint_url, cfg.endpoint_model)
  elif cfg.backend == "scripted":    # a challenger that is always right: tests, upper-bound runs
    engine, backend = None, ScriptedBackend(good_task_script)
  else:
    raise ValueError(f"challenge.backend={cfg.backend!r}; expected 'policy', 'endpoint' or "
                     "'scripted'")
  t0 = time.time()
  dataset = ctx.path("tasks", "challenge")
  try:
    decode = None if engine is None else engine.chat.tokenizer.decode
    with SandboxPool(ctx.config.sandbox.num_workers) as pool, \
        _writer_file(ctx.path("challenge_episodes.jsonl")) as episodes:
      def write_episode(output, record) -> None:     # every episode's transcript and verdict
        episodes.write(json.dumps(episode_record(output, record, decode), default=str) + "\n")
      stats = run_challenge(backend, ctx.families, cfg.tasks_per_family, pool=pool, seed=cfg.seed,
                            dataset_dir=dataset, dataset_name="challenge",
                            batch_size=ctx.config.sampling.num_slots * 2,
                            on_record=write_episode, decode=decode)
  finally:
    if engine is not None:
      engine.close()
  print(f"[challenge] {stats.summary()}")
  if processes.is_writer():
    (ctx.workdir / "challenge_stats.json").write_text(json.dumps(stats.to_json(), indent=2))
  return {**stats.to_json(), "kept": len(stats.kept), "seconds": time.time() - t0}


def run_export(ctx: RunContext) -> dict:
  """HF safetensors + config.json + the run's tokenizer files under WORKDIR/hf, streamed from the
  params in their training shardings (every process takes part; no whole copy on one host), then,
  where transformers is installed, loaded back by it and compared with ours on a rendered chat."""
  config, params = ctx.load_policy()
  out = ctx.path("hf")
  files = export_hf(params, config, out)
  if processes.is_writer():
    files += copy_tokenizer_files(ctx.tokenizer_dir, out)
  summary: dict = {"files": files}
  if importlib.util.find_spec("transformers") is None:        # e.g. TPU hosts: no torch
    print(f"[export] {out}: {files}; transformers is not installed, export not loaded back")
    return summary
  ids = ctx.chat.render([{"role": "user", "content": "Hello. What is 12.5 * 4?"}]).ids
  ours = policy_logits(params, config, ids)          # a collective: every process computes it
  processes.barrier("export written")                # the other processes' files exist
  if not processes.is_writer():
    return summary
  with local_dir(out) as hf_dir:                # transformers reads local directories only
    summary.update(check_hf_export(hf_dir, ours, ids))
  print(f"[export] {out}: {files}; transformers loads it, max |logit diff| = "
        f"{summary['max_abs_logit_diff']:.2e}"
        + (f", tokenizer ids equal: {summary['tokenizer_ids_equal']}"
           if "tokenizer_ids_equal" in summary else ""))
  if summary["max_abs_logit_diff"] > 1e-3 or summary.get("tokenizer_ids_equal") is False:
    raise RuntimeError(f"the exported model does not load back as ours: {summary}")
  return summary


def _on_writer(fn: PhaseFn) -> PhaseFn:
  """A phase that only writes files: process 0 runs it, the others wait at the phase's barrier."""
  return lambda ctx: fn(ctx) if processes.is_writer() else {}


def phase_fn(name: str) -> PhaseFn:
  if name.startswith("eval_"):
    return lambda ctx: run_eval(ctx, name[len("eval_"):])
  table: dict[str, PhaseFn] = {"bootstrap": run_bootstrap, "challenge": run_challenge_phase,
                               "train": run_train, "export": run_export,
                               "report": _on_writer(write_report)}
  if name not in table:
    raise ValueError(f"unknown phase {name!r}; known: {', '.join(sorted(table))}, eval_<tag>")
  return table[name]


def run_phases(ctx: RunContext, names: list[str]) -> None:
  """Runs the phases not yet marked done. Multi-process: every process runs every phase (process
  0's markers decide which), process 0 writes the marker, and all wait for it before the next."""
  fns = [(name, phase_fn(name)) for name in names]         # unknown names fail before any work
  for name, fn in fns:
    if processes.allgather_json(ctx.phase_done(name))[0]:
      print(f"[{name}] already done in {ctx.workdir}; skipping")
      continue
    print(f"[{name}] starting (run time so far {ctx.elapsed():.0f}s)")
    t0 = time.time()
    summary = fn(ctx)
    summary["phase_seconds"] = time.time() - t0
    if processes.is_writer():
      ctx.mark_done(name, summary)
    processes.barrier(f"phase {name} done")
    logging.info("phase %s done in %.0fs", name, summary["phase_seconds"])
    jax.clear_caches()


@contextlib.contextmanager
def _writer_file(path):
  """`path` opened for writing on process 0; elsewhere a sink (process 0 writes everyone's)."""
  if processes.is_writer():
    with path.open("w") as f:
      yield f
  else:
    yield io.StringIO()
