"""Benchmark: one GRPO iteration on bench-56M, ours vs Tunix's GRPOLearner in the same run.

  python -m benchmarks.grpo_iteration [--iters=2 --warmup=1 --out=FILE.json]

16 tasks x G=4 (64 rollouts; a task's G rollouts share its prompt, as in GRPO and as Tunix is
given them), 128 prompt + 128 generated tokens (temperature 1, top-p 1, no stop token, so every
rollout has exactly 128 tokens), one optimizer update on the whole batch, KL beta
0.04 with a frozen reference. Each rollout is rewarded by its Code-as-Task verifier (a few lines
reading the answer) in the sandbox pool, through the reward stage. Reported per iteration:
time split sampling / reference logprobs / verification (busy and waited) / update, for the
on-policy order and for `overlap_next_batch` (batch k+1 sampled while batch k is verified).
The Tunix peer (benchmarks/peers/tunix_grpo.py, its own venv) runs the same shapes in the same
invocation; its reward is a trivial Python function (no sandbox).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
from absl import app, flags

from benchmarks import report

flags.DEFINE_integer("tasks", 16, "tasks per batch")
flags.DEFINE_integer("group", 4, "rollouts per task (G)")
flags.DEFINE_integer("prompt_len", 128, "prompt tokens")
flags.DEFINE_integer("new_tokens", 128, "generated tokens per rollout")
flags.DEFINE_float("kl_beta", 0.04, "KL coefficient (> 0: a reference model is kept)")
flags.DEFINE_integer("warmup", 1, "untimed iterations (compilation)")
flags.DEFINE_integer("iters", 2, "timed iterations per mode")
flags.DEFINE_string("modes", "on_policy,overlap_next_batch", "orders to time")
flags.DEFINE_bool("tunix", True, "also run the Tunix peer when its venv exists")
flags.DEFINE_string("tunix_python", "/work/venvs/tunix/bin/python", "venv python for the peer")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS

# Reads a few fields, as a Code-as-Task verifier does; rewards about half of the rollouts.
VERIFIER = """
def verify(state, answer, messages):
    words = answer.split()
    return bool(words) and int(words[0]) % 2 == 0 and state["seed"] >= 0
"""


class _IdTokenizer:
  """Ids as text: a random model samples every id; the verifier reads them back as numbers."""
  vocab_size = 32000

  def decode(self, ids):
    return " ".join(map(str, ids))


class _FixedChat:
  """Prompts of exactly `prompt_len` random ids; no stop token (every turn is `new_tokens`)."""

  def __init__(self, prompt_len: int):
    self.tokenizer = _IdTokenizer()
    self.prompt_len = prompt_len
    self.stop_ids = ()

  def render(self, messages, tools=None, add_generation_prompt=True):
    from selfchallenge_jax.tokenizer.chat_base import RenderedChat
    rng = np.random.default_rng(int(messages[-1]["content"]))
    ids = rng.integers(3, 31000, self.prompt_len).tolist()
    return RenderedChat(ids, [0] * len(ids))

  def render_message(self, message):
    raise AssertionError("single-turn benchmark: no observation is ever rendered")

  def generation_prompt(self):
    return []

  def parse_assistant(self, text):
    return text


def _spec(task, stream_id, tag):
  from selfchallenge_jax import envs
  from selfchallenge_jax.rollout.episode import EpisodeSpec
  env = envs.make("echo")
  env.reset(**task.env_kwargs)
  # The task's own prompt (its G rollouts share it; each has its own stream_id, so its own draws).
  return EpisodeSpec(env=env, messages=[{"role": "user", "content": str(task.env_kwargs["seed"])}],
                     stream_id=stream_id, tag=tag)


def _tasks(n: int):
  from selfchallenge_jax.tasks.record import CodeAsTask
  return [CodeAsTask(task_id=f"bench-{i}", env="echo", env_kwargs={"seed": i},
                     instruction="Reply.", verifier=VERIFIER,
                     solution=({"name": "respond", "arguments": {"content": "2"}},),
                     failure_cases=(({"name": "respond", "arguments": {"content": "1"}},),))
          for i in range(n)]


def ours(mode: str) -> dict:
  import jax
  import jax.numpy as jnp
  from selfchallenge_jax.checkpoint.train_state import TrainState
  from selfchallenge_jax.model import get_config, init_params
  from selfchallenge_jax.rl.algorithms import make_algorithm
  from selfchallenge_jax.rl.optimizer import make_optimizer
  from selfchallenge_jax.rollout.engine import RolloutEngine
  from selfchallenge_jax.sampling import Sampler
  from selfchallenge_jax.sandbox.pool import SandboxPool
  from selfchallenge_jax.sharding import make_mesh
  from selfchallenge_jax.train.loop import iterations
  from selfchallenge_jax.train.rewards import RewardStage
  from selfchallenge_jax.train.trainer import Trainer

  config = get_config("bench-56m")
  mesh = make_mesh((1, 1, 1), devices=jax.devices()[:1])
  params = init_params(config, jax.random.key(0))
  ref_params = jax.tree.map(jnp.copy, params) if FLAGS.kl_beta > 0 else None
  optimizer, _ = make_optimizer(lr=1e-5, warmup_steps=0, total_steps=1000)
  algorithm = make_algorithm("grpo", kl_beta=FLAGS.kl_beta)
  batch = FLAGS.tasks * FLAGS.group
  cache_len = FLAGS.prompt_len + FLAGS.new_tokens
  sampler = Sampler(params, config, cache_len=cache_len, mesh=mesh)
  engine = RolloutEngine(sampler, _FixedChat(FLAGS.prompt_len), num_slots=batch, max_turns=1,
                         # One more than a turn, so the turn's reply reaches the env (the answer).
                         max_turn_tokens=FLAGS.new_tokens, max_episode_tokens=FLAGS.new_tokens + 1,
                         chunk_steps=16, temperature=1.0, top_p=1.0)
  tasks = [t for t in _tasks(FLAGS.tasks) for _ in range(FLAGS.group)]
  overlap = mode == "overlap_next_batch"
  # With overlap the last step samples nothing ahead: run one more and leave it out of the timing.
  steps = FLAGS.warmup + FLAGS.iters + int(overlap)
  with SandboxPool(2) as pool:
    rewards = RewardStage(pool)
    trainer = Trainer(config=config, state=TrainState.create(params, optimizer,
                                                             jax.random.key(1)),
                      optimizer=optimizer, algorithm=algorithm, engine=engine, rewards=rewards,
                      mesh=mesh, group_size=FLAGS.group, ref_params=ref_params, spec_fn=_spec)
    records = []
    t_start = time.perf_counter()
    for step, metrics, _ in iterations(trainer, lambda: tasks, steps, overlap_next_batch=overlap):
      records.append(metrics)
      print(f"[ours {mode}] iteration {step}: {metrics['time/iteration_s']:.2f}s", flush=True)
    total = time.perf_counter() - t_start
    rewards.close()
  engine.close()
  timed = records[FLAGS.warmup:FLAGS.warmup + FLAGS.iters]
  med = lambda key: statistics.median(m[key] for m in timed)
  iteration = med("time/iteration_s")
  span, waited = (sum(m["time/verification_span_s"] for m in timed),
                  sum(m["time/verification_wait_s"] for m in timed))
  assert all(m["episode/tokens_mean"] == cache_len for m in records), "rollouts not full length"
  return {
      "seconds": iteration,
      "split_seconds": {"sampling": med("time/sampling_s"),
                        "ref_logprobs": med("time/ref_logprobs_s"),
                        "verification_wait": med("time/verification_wait_s"),
                        "update": med("time/update_s")},
      "verification_busy_s": med("time/verification_busy_s"),
      "verification_span_s": med("time/verification_span_s"),
      # The share of the verification wall span (first start to last end) the trainer did not wait.
      "verification_hidden_frac": max(0.0, 1.0 - waited / span) if span > 0 else 1.0,
      "generated_tokens_per_s": batch * FLAGS.new_tokens / iteration,
      "reward_mean": [m["reward/mean"] for m in records],
      "verdicts": {k[len("verdict/"):]: sum(m.get(k, 0) for m in records)
                   for k in sorted({k for m in records for k in m if k.startswith("verdict/")})},
      "all_iteration_seconds": [m["time/iteration_s"] for m in records],
      "total_seconds": total,
      "shared_prefills": engine.stats.shared_prefills,    # rollouts that copied a group's prefill
  }


def tunix() -> dict | None:
  if not FLAGS.tunix:
    return None
  return report.run_peer(
      FLAGS.tunix_python, "tunix_grpo.py",
      [f"--prompts={FLAGS.tasks}", f"--group={FLAGS.group}", f"--prompt_len={FLAGS.prompt_len - 1}",
       f"--new_tokens={FLAGS.new_tokens}", f"--beta={FLAGS.kl_beta}", f"--warmup={FLAGS.warmup}",
       f"--iters={FLAGS.iters}"], timeout_s=7200)


def main(argv):
  del argv
  import jax
  result = {"benchmark": "grpo_iteration", "model": "bench-56m", "tasks": FLAGS.tasks,
            "group": FLAGS.group, "prompt_len": FLAGS.prompt_len, "new_tokens": FLAGS.new_tokens,
            "kl_beta": FLAGS.kl_beta, "iters": FLAGS.iters, "warmup": FLAGS.warmup,
            "jax": jax.__version__,
            "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}}
  for mode in FLAGS.modes.split(","):
    result[mode] = ours(mode)
    jax.clear_caches()
  peer = tunix()
  if peer is not None:
    result["tunix"] = peer
    if "seconds" in peer:
      for mode in FLAGS.modes.split(","):
        result[mode]["speedup_vs_tunix"] = peer["seconds"] / result[mode]["seconds"]
  result["machine"]["load_avg_end"] = os.getloadavg()
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
