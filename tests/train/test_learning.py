"""Learning test: on the echo environment, a verifier-rewarded target answer is learned by GRPO
and by rejection fine-tuning (mean reward from near chance to >= 0.9 within a bounded budget)."""

import numpy as np
import pytest

from chat_fixtures import make_chat
from trainer_fixtures import echo_tasks, make_trainer
from selfchallenge_jax.sandbox.pool import SandboxPool

MAX_STEPS = 30


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
  return make_chat(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def pool():
  with SandboxPool(2) as p:
    yield p


@pytest.mark.slow
@pytest.mark.parametrize("algorithm,kwargs", [("grpo", dict(kl_beta=0.0)), ("rft", {})])
def test_reward_rises_to_target(chat, pool, algorithm, kwargs):
  tokenizer, chat_format = chat
  trainer = make_trainer(chat_format, tokenizer, algorithm=algorithm, pool=pool, lr=2e-2, **kwargs)
  tasks = [t for t in echo_tasks(4) for _ in range(8)]
  rewards = []
  for _ in range(MAX_STEPS):
    rewards.append(trainer.train_step(tasks)["reward/mean"])
    if len(rewards) >= 3 and min(rewards[-3:]) >= 0.9:
      break
  trainer.engine.close()
  assert rewards[0] <= 0.2, rewards                  # near chance at the start
  assert np.mean(rewards[-3:]) >= 0.9, rewards       # learned
