"""Benchmark: multi-turn rollouts with slow environments, overlapped engine vs turn barrier.

  python -m benchmarks.multiturn [--episodes=64 --turns=4 --env_sleep_ms=50 --out=FILE.json]

bench-56M, 64 episodes x 4 turns, every environment step sleeps 50 ms; turns are ragged (each
episode has its own per-turn budget between 8 and 40 tokens) as real agents' turns are. Reports
the fraction of wall time the device spends decoding (and extending) for the engine, whose slots
park while their environment steps and resume by extend-prefill, and for a turn-barrier baseline
(every slot waits for the slowest) in the same run.
"""

from __future__ import annotations

import os
import time

import numpy as np
from absl import app, flags

from benchmarks import report

flags.DEFINE_integer("episodes", 64, "episodes")
flags.DEFINE_integer("turns", 4, "turns per episode")
flags.DEFINE_integer("env_sleep_ms", 50, "environment step latency")
flags.DEFINE_integer("slots", 64, "engine slots")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS


class _IdTokenizer:
  """Ids as text: the benchmark's chat needs no real vocabulary (a random model samples all ids)."""
  vocab_size = 32000

  def decode(self, ids):
    return " ".join(map(str, ids))


class _FixedChat:
  """A chat format with fixed-size prompts and observations, so only the engine is measured."""

  def __init__(self, prompt_len: int = 128, obs_len: int = 24):
    self.tokenizer = _IdTokenizer()
    self.prompt_len, self.obs_len = prompt_len, obs_len
    self.stop_ids = (31999,)

  def render(self, messages, tools=None, add_generation_prompt=True):
    from selfchallenge_jax.tokenizer.chat_base import RenderedChat
    rng = np.random.default_rng(len(messages[-1]["content"]))
    ids = rng.integers(3, 31000, self.prompt_len).tolist()
    return RenderedChat(ids, [0] * len(ids))

  def render_message(self, message):
    from selfchallenge_jax.tokenizer.chat_base import RenderedChat
    ids = list(range(100, 100 + self.obs_len))
    return RenderedChat(ids, [0] * len(ids))

  def generation_prompt(self):
    return [7, 8, 9]

  def parse_assistant(self, text):
    return text


def _run(engine_cls, sampler, overlap: bool, n: int, turns: int, sleep_s: float):
  from selfchallenge_jax.envs.base import Environment
  from selfchallenge_jax.rollout.episode import EpisodeSpec

  class SlowEnv(Environment):
    name = "slow"
    tools = []

    def reset(self, seed=None, **kw):
      return ""

    def _tool_functions(self):
      return {}

    def state(self):
      return {}

    def _on_respond(self, content):
      time.sleep(sleep_s)
      return "ok"

  rng = np.random.default_rng(0)
  budgets = rng.integers(8, 41, n)
  specs = [EpisodeSpec(env=SlowEnv(), messages=[{"role": "user", "content": "x" * i}],
                       stream_id=i, max_turn_tokens=int(budgets[i])) for i in range(n)]
  engine = engine_cls(sampler, _FixedChat(), num_slots=FLAGS.slots, max_turns=turns,
                      max_turn_tokens=64, max_episode_tokens=4096, chunk_steps=8, overlap=overlap,
                      env_threads=FLAGS.slots)
  # Compile outside the timing: every extend program (row, token and window buckets) for the
  # prompt and the observation appends ([last sampled token] + observation + generation prompt),
  # then the same workload once with another seed (the decode chunk), as in a trainer's later
  # iterations.
  chat = engine.chat
  programs = engine.precompile([chat.prompt_len, 1 + chat.obs_len + len(chat.generation_prompt())])
  engine.run(specs, seed=1)
  engine.stats = type(engine.stats)()
  t0 = time.perf_counter()
  episodes = engine.run(specs, seed=0)
  wall = time.perf_counter() - t0
  engine.close()
  s = engine.stats
  assert all(e.num_turns == turns for e in episodes), [e.end_reason for e in episodes][:4]
  return {"extend_programs": programs, "wall_s": wall, "decode_s": s.decode_s,
          "extend_s": s.extend_s, "env_wait_s": s.env_wait_s, "extends": s.extends, "decode_fraction": s.decode_s / wall,
          "device_fraction": (s.decode_s + s.extend_s) / wall, "sampled_tokens": s.sampled_tokens,
          "new_tokens_per_s": s.sampled_tokens / wall}


def main(argv):
  del argv
  import jax
  from selfchallenge_jax.model import get_config, init_params
  from selfchallenge_jax.rollout.engine import RolloutEngine
  from selfchallenge_jax.sampling import Sampler
  config = get_config("bench-56m")
  sampler = Sampler(init_params(config, jax.random.key(0)), config, cache_len=512)
  sleep_s = FLAGS.env_sleep_ms / 1000
  result = {"benchmark": "multiturn", "model": "bench-56m", "episodes": FLAGS.episodes,
            "turns": FLAGS.turns, "env_sleep_ms": FLAGS.env_sleep_ms,
            "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}}
  result["engine"] = _run(RolloutEngine, sampler, True, FLAGS.episodes, FLAGS.turns, sleep_s)
  result["turn_barrier"] = _run(RolloutEngine, sampler, False, FLAGS.episodes, FLAGS.turns, sleep_s)
  result["speedup_vs_barrier"] = result["turn_barrier"]["wall_s"] / result["engine"]["wall_s"]
  result["machine"]["load_avg_end"] = os.getloadavg()
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
