"""A tiny trainer over the echo environment, for the learning and resume tests (test helper)."""

from __future__ import annotations

import jax

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rl.algorithms import make_algorithm
from selfchallenge_jax.rl.optimizer import make_optimizer
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.sharding import make_mesh
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.train.rewards import RewardStage
from selfchallenge_jax.train.trainer import Trainer

# Rewarded iff the reply starts with one of a few letters: chance is low but not negligible.
TARGET_VERIFIER = """
def verify(state, answer, messages):
    return answer.strip()[:1] in ("a", "e")
"""


def echo_tasks(n: int) -> list[CodeAsTask]:
  return [CodeAsTask(task_id=f"echo-{i}", env="echo", env_kwargs={"seed": i},
                     instruction=f"Say something ({i}).", verifier=TARGET_VERIFIER,
                     solution=({"name": "respond", "arguments": {"content": "a"}},),
                     failure_cases=(({"name": "respond", "arguments": {"content": "z"}},),))
          for i in range(n)]


def make_trainer(chat, tokenizer, *, algorithm: str, pool: SandboxPool, lr: float = 3e-3,
                 seed: int = 0, **algo_kwargs) -> Trainer:
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, max_seq_len=512)
  mesh = make_mesh((1, 1, 1), devices=jax.devices()[:1])
  params = init_params(config, jax.random.key(seed))
  optimizer, _ = make_optimizer(lr=lr, warmup_steps=0, total_steps=1000)
  algo = make_algorithm(algorithm, **algo_kwargs)
  sampler = Sampler(params, config, cache_len=256, mesh=mesh)
  engine = RolloutEngine(sampler, chat, num_slots=32, max_turns=1, max_turn_tokens=2,
                         max_episode_tokens=8, chunk_steps=2)
  state = TrainState.create(params, optimizer, jax.random.key(seed + 1))
  return Trainer(config=config, state=state, optimizer=optimizer, algorithm=algo, engine=engine,
                 rewards=RewardStage(pool), mesh=mesh, group_size=8, seed=seed,
                 ref_params=params if algo.needs_ref_logprobs else None)
