"""The executor training loop, one iteration per task batch:

  tasks (G copies each) -> multi-turn rollouts (engine) -> rewards (sandboxed verifiers, started as
  each episode ends) -> advantages (host) -> [reference logprobs] -> mu updates (jit, sharded)
  -> the sampler takes the new params -> metrics.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np
import optax

from selfchallenge_jax.agents.executor import executor_spec
from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.algorithms import Algorithm
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.train.rewards import RewardStage
from selfchallenge_jax.train.rollout_batch import batch_length, make_rollout_batch
from selfchallenge_jax.train.update_step import UpdatePrograms


@dataclasses.dataclass
class Trainer:
  config: LlamaConfig
  state: TrainState
  optimizer: optax.GradientTransformation
  algorithm: Algorithm
  engine: RolloutEngine
  rewards: RewardStage
  mesh: jax.sharding.Mesh
  group_size: int
  seed: int = 0
  ref_params: Any = None          # only kept when the algorithm needs reference logprobs
  spec_fn: Callable[..., Any] = executor_spec

  def __post_init__(self):
    if self.algorithm.needs_ref_logprobs and self.ref_params is None:
      raise ValueError(f"algorithm {self.algorithm.name} needs reference logprobs (kl_beta > 0) "
                       "but no reference params were given")
    self.programs = UpdatePrograms(self.config, self.optimizer, self.algorithm, self.mesh)
    self.state = jax.device_put(self.state, self.programs.state_shardings)
    self.engine.sampler.update_params(self.state.params)

  @property
  def step(self) -> int:
    return int(self.state.step) // max(self.algorithm.num_updates_per_batch, 1)

  def train_step(self, tasks: Sequence[Any]) -> dict[str, float]:
    """One iteration on `tasks` (group-major: each task repeated group_size times)."""
    if len(tasks) % self.group_size:
      raise ValueError(f"{len(tasks)} tasks is not a multiple of group_size {self.group_size}")
    iteration = self.step
    t0 = time.perf_counter()
    specs = [self.spec_fn(task, stream_id=iteration * len(tasks) + i, tag=i)
             for i, task in enumerate(tasks)]
    self.rewards.start(tasks)
    episodes = self.engine.run(specs, seed=self.seed + iteration, on_episode_end=self.rewards.submit)
    t_sample = time.perf_counter() - t0
    rewards, verdicts, waited = self.rewards.collect(len(tasks))
    prep = self.algorithm.prepare(rewards, self.group_size)
    length = batch_length(episodes, self.engine.sampler.cache_len)
    batch = make_rollout_batch(episodes, advantages=prep.advantages, keep=prep.keep, length=length,
                               with_old_logprobs=self.algorithm.needs_old_logprobs)
    t1 = time.perf_counter()
    if self.algorithm.needs_ref_logprobs:
      batch = dataclasses.replace(batch, ref_logprobs=self.programs.ref_logprobs(self.ref_params,
                                                                                 batch))
      jax.block_until_ready(batch.ref_logprobs)
    t_ref = time.perf_counter() - t1
    t2 = time.perf_counter()
    update_metrics = {}
    for _ in range(self.algorithm.num_updates_per_batch):
      self.state, update_metrics = self.programs.update(self.state, batch)
    update_metrics = {k: float(v) for k, v in jax.device_get(update_metrics).items()}
    t_update = time.perf_counter() - t2
    self.engine.sampler.update_params(self.state.params)
    sampled = int(sum(sum(e.loss_mask) for e in episodes))
    metrics = {
        "step": float(iteration + 1),
        "reward/mean": float(rewards.mean()),
        "reward/pass_rate": float((rewards >= 1.0).mean()),
        "episodes": float(len(episodes)),
        "episode/turns_mean": float(np.mean([e.num_turns for e in episodes])),
        "episode/tokens_mean": float(np.mean([len(e.tokens) for e in episodes])),
        "time/sampling_s": t_sample, "time/verification_wait_s": waited,
        "time/verification_busy_s": self.rewards.busy_s, "time/ref_logprobs_s": t_ref,
        "time/update_s": t_update, "time/iteration_s": time.perf_counter() - t0,
        "throughput/sampled_tokens_per_s": sampled / max(t_sample, 1e-9),
        "verification/hidden_frac": (1.0 - waited / self.rewards.busy_s
                                     if self.rewards.busy_s > 0 else 1.0),
        **{f"verdict/{v}": float(sum(x == v for x in verdicts)) for v in set(verdicts)},
        **prep.metrics(), **update_metrics,
    }
    return metrics
