"""One host of the multi-host trainer test (test helper, run as a script, not collected by pytest).

Every process of `launch.local_multihost` runs this: the tiny echo-env trainer, this host's rows of
the Grain pipeline's global batches, its own sandbox pool and sampler on its own devices, one
global sharded update. Run alone (one process) it trains on the same global batches, which is what
the multi-process run must reproduce.
Process 0 writes the per-step metrics (JSON) and the final params (npz) to --out.
"""

import argparse
import dataclasses
import json
import os
import sys

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.dirname(_TESTS), os.path.join(_TESTS, "train")]   # repo root, fixtures

from selfchallenge_jax import distributed  # noqa: E402

if distributed.launched_locally():        # before any other JAX call
  distributed.initialize()

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.experimental import multihost_utils  # noqa: E402

from trainer_fixtures import echo_tasks  # noqa: E402
from selfchallenge_jax.checkpoint.train_state import TrainState  # noqa: E402
from selfchallenge_jax.data.task_pipeline import TaskBatchIterator, TaskPipelineConfig  # noqa: E402
from selfchallenge_jax.model import get_config, init_params  # noqa: E402
from selfchallenge_jax.rl.algorithms import make_algorithm  # noqa: E402
from selfchallenge_jax.rl.optimizer import make_optimizer  # noqa: E402
from selfchallenge_jax.rollout.engine import RolloutEngine  # noqa: E402
from selfchallenge_jax.sampling import Sampler  # noqa: E402
from selfchallenge_jax.sandbox.pool import SandboxPool  # noqa: E402
from selfchallenge_jax.sharding import make_mesh  # noqa: E402
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format  # noqa: E402
from selfchallenge_jax.train.rewards import RewardStage  # noqa: E402
from selfchallenge_jax.train.trainer import Trainer  # noqa: E402

NUM_TASKS, TASKS_PER_BATCH, GROUP_SIZE = 8, 4, 8          # TASKS_PER_BATCH: the global batch
# About half the random-init replies pass, so most groups have reward variance and a gradient.
PARITY_VERIFIER = """
def verify(state, answer, messages):
    return sum(map(ord, answer)) % 2 == 0
"""


def parity_tasks():
  return [dataclasses.replace(t, verifier=PARITY_VERIFIER) for t in echo_tasks(NUM_TASKS)]


def task_batches(seed: int):
  """This process's rows of the global task batches (one process: all of them)."""
  config = TaskPipelineConfig(tasks_per_batch=TASKS_PER_BATCH, group_size=GROUP_SIZE, seed=seed)
  return TaskBatchIterator(parity_tasks(), config)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--tokenizer", required=True)
  parser.add_argument("--out", required=True)
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args()

  tokenizer = load_tokenizer(args.tokenizer)
  chat = make_chat_format("llama3", tokenizer)
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, max_seq_len=512)
  mesh = make_mesh((1, -1, 1))                       # every process's devices
  hosts = distributed.HostGroup(mesh, config)
  params = jax.device_get(init_params(config, jax.random.key(args.seed)))   # same on every host
  # lr 1e-3: Adam moves every weight with a gradient by ~lr per step, far above the test's 1e-5
  # tolerance, while float32 reduction-order noise (amplified by Adam's per-weight normalization
  # where gradients are tiny) stays below it.
  optimizer, _ = make_optimizer(lr=1e-3, warmup_steps=0, total_steps=1000)
  algorithm = make_algorithm("grpo", kl_beta=0.0)
  local_rows = TASKS_PER_BATCH * GROUP_SIZE // jax.process_count()
  # One slot per local episode: every device samples as many rows in either run.
  sampler = Sampler(params, config, cache_len=256, mesh=hosts.sampling_mesh)
  engine = RolloutEngine(sampler, chat, num_slots=local_rows, max_turns=1, max_turn_tokens=2,
                         max_episode_tokens=8, chunk_steps=2)
  state = jax.device_get(TrainState.create(params, optimizer, jax.random.key(args.seed + 1)))
  history = []
  with SandboxPool(1) as pool:
    trainer = Trainer(config=config, state=state, optimizer=optimizer, algorithm=algorithm,
                      engine=engine, rewards=RewardStage(pool), mesh=mesh, group_size=GROUP_SIZE,
                      seed=args.seed, hosts=hosts)
    batches = task_batches(args.seed)
    for _ in range(args.steps):
      tasks = next(batches)
      metrics = trainer.train_step(tasks)
      everyone = hosts.concat({"tasks": [t.task_id for t in tasks]})
      history.append({"tasks": everyone["tasks"], **metrics})
    engine.close()
    trainer.rewards.close()
  final = multihost_utils.process_allgather(trainer.state.params, tiled=True)
  if hosts.is_writer:
    moved = max(float(np.abs(a - np.asarray(b)).max()) for a, b in
                zip(jax.tree.leaves(final), jax.tree.leaves(params)))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "history.json"), "w") as f:
      json.dump({"process_count": jax.process_count(), "devices": jax.device_count(),
                 "max_param_change": moved, "history": history}, f)
    flat = {jax.tree_util.keystr(path): np.asarray(x)
            for path, x in jax.tree_util.tree_flatten_with_path(final)[0]}
    np.savez(os.path.join(args.out, "params.npz"), **flat)


if __name__ == "__main__":
  main()
