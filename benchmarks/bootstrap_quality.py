"""How close a bootstrapped policy is to the scripted expert, on validation tasks: a smooth measure.

    python -m benchmarks.bootstrap_quality --workdirs=/tmp/a,/tmp/b --out=quality.json

pass@1 of a weak model is 0 for a long time and says nothing about which bootstrap is better;
this scores each run's policy teacher-forced on scripted-expert episodes of validation tasks
(seeds 800000-800003 by default: not the demos' seeds and not the held-out eval seed 900000, so
choosing a bootstrap by it does not tune on the held-out tasks). Per family: the mean NLL of the assistant's
tokens, their greedy accuracy, the share of assistant turns whose every token is the greedy choice,
and the share of episodes where that holds for every turn (greedy decoding would reproduce the
expert's episode, given the same observations).
"""

from __future__ import annotations

import json

import jax
import ml_collections
import numpy as np
from absl import app, flags
from etils import epath

from benchmarks import report
from selfchallenge_jax.checkpoint.export import load_params_on_host
from selfchallenge_jax.model import llama
from selfchallenge_jax.pipeline import demos as demo_lib
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.sampling.sampler import prompt_bucket

flags.DEFINE_list("workdirs", [], "run workdirs whose bootstrap checkpoint to score")
flags.DEFINE_integer("seed", 800_000, "task seed of the validation episodes")
flags.DEFINE_integer("per_family", 16, "validation episodes per family")
flags.DEFINE_integer("task_seeds", 4, "task seeds (web sites, databases) they are spread over")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS


def score_run(workdir: str, seed: int, per_family: int, task_seeds: int) -> dict:
  config_dict = json.loads((epath.Path(workdir) / "config.json").read_text())
  ctx = RunContext(ml_collections.ConfigDict(config_dict), workdir)
  config, params, _ = load_params_on_host(ctx.path("checkpoints", "bootstrap"))
  forward = jax.jit(lambda p, t, pos, m: llama.forward(p, t, pos, m, config))
  max_len = ctx.config.sampling.cache_len
  chat_format = ctx.chat
  per_family_stats: dict[str, dict] = {}
  for family in ctx.families:
    nll, acc, turn_ok, episode_ok, skipped = [], [], [], [], 0
    for chat in demo_lib.executor_demos([family], per_family, seed, num_seeds=task_seeds):
      rendered = chat_format.render(chat.messages, tools=chat.tools, add_generation_prompt=False)
      ids, role = np.asarray(rendered.ids), np.asarray(rendered.role_mask, bool)
      if len(ids) > max_len:
        skipped += 1
        continue
      length = prompt_bucket(len(ids), max_len)
      tokens = np.zeros((1, length), np.int32)
      tokens[0, :len(ids)] = ids
      # Padding by length, not by id: id 0 is <unk>, which real text can contain.
      real = (np.arange(length) < len(ids))[None]
      logits = np.asarray(forward(params, tokens, np.arange(length)[None], real))[0]
      logits = logits[:len(ids) - 1]
      logprobs = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
      target, scored = ids[1:], role[1:]
      nll.append(float(-logprobs[np.arange(len(target)), target][scored].mean()))
      right = logits.argmax(-1) == target
      acc.append(float(right[scored].mean()))
      # Assistant turns are the runs of scored tokens.
      runs = np.split(np.arange(len(scored)), np.nonzero(np.diff(scored))[0] + 1)
      turns = [bool(right[r].all()) for r in runs if scored[r[0]]]
      turn_ok.extend(turns)
      episode_ok.append(all(turns))
    per_family_stats[family] = {
        "episodes": len(nll), "skipped_over_context": skipped,
        "assistant_nll": float(np.mean(nll)), "token_accuracy": float(np.mean(acc)),
        "turn_exact": float(np.mean(turn_ok)), "episode_exact": float(np.mean(episode_ok))}
  summary = json.loads((epath.Path(workdir) / "phases" / "bootstrap.json").read_text())
  return {"workdir": workdir, "bootstrap": summary, "families": per_family_stats}


def main(argv):
  del argv
  if not FLAGS.workdirs:
    raise app.UsageError("--workdirs is required")
  report.emit({"benchmark": "bootstrap_quality", "seed": FLAGS.seed, "per_family": FLAGS.per_family,
               "task_seeds": FLAGS.task_seeds,
               "runs": [score_run(w, FLAGS.seed, FLAGS.per_family, FLAGS.task_seeds)
                        for w in FLAGS.workdirs]},
              FLAGS.out)


if __name__ == "__main__":
  app.run(main)
