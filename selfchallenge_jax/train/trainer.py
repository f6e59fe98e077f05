"""The executor training loop, one iteration per task batch:

  tasks (G copies each) -> multi-turn rollouts (engine) -> rewards (the reward stage runs the
  sandboxed verifiers as each episode ends) -> advantages (host) -> [reference logprobs]
  -> mu updates (jit, sharded) -> the sampler takes the new params -> metrics.

`train_step` is one on-policy iteration. `sample` and `learn` split it so a loop can sample batch
k+1 while batch k is still being verified (then batch k+1 is one update behind the params it is
trained with; the clipped importance ratio against the sampler's logprobs accounts for that).
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
from selfchallenge_jax.distributed.hosts import HostGroup
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.algorithms import Algorithm
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.train.micro_batches import split_micro_batches
from selfchallenge_jax.train.rewards import RewardBatch, RewardStage
from selfchallenge_jax.train.rollout_batch import batch_length, make_rollout_batch
from selfchallenge_jax.train.programs import batch_shardings
from selfchallenge_jax.train.update_step import UpdatePrograms


@dataclasses.dataclass
class SampledBatch:
  """A batch's rollouts, waiting for their rewards (verification runs in the reward stage)."""
  tasks: list[Any]
  episodes: list[Episode]
  rewards: RewardBatch
  batch_index: int           # the update step this batch is for (seeds its rollouts)
  started: float             # perf_counter when sampling began
  sampling_s: float


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
  # Multi-process runs: this host samples its share of the batch on hosts.sampling_mesh (the
  # engine's sampler must use that mesh); the update runs on the global `mesh`. Default: one host.
  hosts: HostGroup | None = None
  # 0: one update program over the whole padded batch. n > 0: the update sums the gradients of
  # micro-batches of n rows (a GRPO group when n = group_size), leaving out rows that contribute
  # nothing (zero advantage without a KL term, dropped groups), each trimmed to its own length
  # (a multiple of micro_length_multiple): train/micro_batches.py. Single host only.
  micro_rows: int = 0
  micro_length_multiple: int = 256
  _last_learn_end: float | None = dataclasses.field(default=None, init=False, repr=False)

  def __post_init__(self):
    if self.algorithm.needs_ref_logprobs and self.ref_params is None:
      raise ValueError(f"algorithm {self.algorithm.name} needs reference logprobs (kl_beta > 0) "
                       "but no reference params were given")
    self.programs = UpdatePrograms(self.config, self.optimizer, self.algorithm, self.mesh)
    self.hosts = self.hosts or HostGroup(self.mesh, self.config)
    if self.micro_rows and not self.hosts.single:
      raise ValueError("micro-batched updates (micro_rows > 0) run on a single host; multi-host "
                       "runs use the full-batch update (micro_rows=0)")
    self.state = self.hosts.put(self.state, self.programs.state_shardings)
    self.engine.sampler.update_params(self.hosts.sampler_params(self.state.params))

  @property
  def step(self) -> int:
    return int(self.state.step) // max(self.algorithm.num_updates_per_batch, 1)

  def train_step(self, tasks: Sequence[Any]) -> dict[str, float]:
    """One on-policy iteration on `tasks` (group-major: each task repeated group_size times)."""
    return self.learn(self.sample(tasks))

  def sample(self, tasks: Sequence[Any], batch_index: int | None = None) -> SampledBatch:
    """Rollouts of `tasks` with the current params; their verification starts as episodes end.

    `batch_index` (default: the next update step) seeds the rollouts, so a batch sampled one
    update ahead (`overlap_next_batch`) draws the same random streams as it would on-policy.
    """
    rows = len(tasks) * self.hosts.process_count           # the global batch
    if rows % self.group_size:
      raise ValueError(f"a global batch of {rows} rows is not a multiple of group_size "
                       f"{self.group_size}")
    batch_index = self.step if batch_index is None else batch_index
    t0 = time.perf_counter()
    # Stream ids number the global batch (this host's rows start at its row offset), so a run's
    # tokens do not depend on how many hosts sample it.
    first = batch_index * len(tasks) * self.hosts.process_count + self.hosts.row_offset(len(tasks))
    specs = [self.spec_fn(task, stream_id=first + i, tag=i) for i, task in enumerate(tasks)]
    rewards = self.rewards.start(tasks)
    episodes = self.engine.run(specs, seed=self.seed + batch_index, on_episode_end=rewards.submit)
    return SampledBatch(list(tasks), episodes, rewards, batch_index, t0, time.perf_counter() - t0)

  def learn(self, sampled: SampledBatch) -> dict[str, float]:
    """Waits for `sampled`'s rewards, then advantages -> [reference logprobs] -> mu updates."""
    iteration, episodes = sampled.batch_index, sampled.episodes
    if iteration != self.step:
      raise ValueError(f"batch sampled for step {iteration} cannot train step {self.step}")
    scored = self.rewards.collect(sampled.rewards)
    # Advantages and metrics are computed on the global batch (every host's episodes, in process
    # order), so a group may straddle hosts; this host's rows take their slice of the advantages.
    everyone = self.hosts.concat({
        "rewards": scored.rewards.tolist(), "verdicts": list(scored.verdicts),
        "turns": [e.num_turns for e in episodes], "tokens": [len(e.tokens) for e in episodes],
        "sampled_tokens": [int(sum(sum(e.loss_mask) for e in episodes))],
        "sampling_s": [sampled.sampling_s],
        "length": [batch_length(episodes, self.engine.sampler.cache_len)]})
    rewards = np.asarray(everyone["rewards"], np.float32)
    prep = self.algorithm.prepare(rewards, self.group_size)
    mine = slice(self.hosts.row_offset(len(episodes)), self.hosts.row_offset(len(episodes))
                 + len(episodes))
    batch = make_rollout_batch(episodes, advantages=prep.advantages[mine], keep=prep.keep[mine],
                               length=max(everyone["length"]),
                               with_old_logprobs=self.algorithm.needs_old_logprobs,
                               max_policy_tokens=self.engine.max_episode_tokens)
    if self.micro_rows:
      t_ref, t_update, update_metrics = self._learn_micro(batch)
    else:
      t_ref, t_update, update_metrics = self._learn_full(batch)
    self.engine.sampler.update_params(self.hosts.sampler_params(self.state.params))
    end = time.perf_counter()
    # Wall time since the previous update ended (or since this batch started sampling).
    iteration_s = end - (self._last_learn_end if self._last_learn_end is not None
                         else sampled.started)
    self._last_learn_end = end
    sampled_tokens = sum(everyone["sampled_tokens"])
    sampling_s = max(everyone["sampling_s"])      # the slowest host's
    verdicts = everyone["verdicts"]
    metrics = {
        "step": float(iteration + 1),
        "reward/mean": float(rewards.mean()),
        "reward/pass_rate": float((rewards >= 1.0).mean()),
        "episodes": float(len(rewards)),
        "episode/turns_mean": float(np.mean(everyone["turns"])),
        "episode/tokens_mean": float(np.mean(everyone["tokens"])),
        "time/sampling_s": sampling_s, "time/verification_wait_s": scored.waited_s,
        "time/verification_busy_s": scored.busy_s, "time/verification_span_s": scored.span_s,
        "time/ref_logprobs_s": t_ref,
        "time/update_s": t_update, "time/iteration_s": iteration_s,
        "throughput/sampled_tokens_per_s": sampled_tokens / max(sampling_s, 1e-9),
        "verification/hidden_frac": scored.hidden_frac,
        **{f"verdict/{v}": float(sum(x == v for x in verdicts)) for v in set(verdicts)},
        **prep.metrics(), **update_metrics,
    }
    return metrics

  def _learn_full(self, batch: RolloutBatch) -> tuple[float, float, dict[str, float]]:
    """mu updates on the whole (global) batch; (reference-logprob s, update s, metrics)."""
    batch = self.hosts.global_batch(batch, batch_shardings(self.hosts.global_shapes(batch),
                                                           self.mesh))
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
    return t_ref, time.perf_counter() - t2, update_metrics

  def _learn_micro(self, batch: RolloutBatch) -> tuple[float, float, dict[str, float]]:
    """mu updates, each on the summed gradients of the batch's contributing micro-batches."""
    micros = split_micro_batches(batch, rows=self.micro_rows, loss_agg=self.algorithm.loss_agg,
                                 length_multiple=self.micro_length_multiple,
                                 advantage_matters=self.algorithm.advantage_matters,
                                 policy_width=self.engine.max_episode_tokens)
    t1 = time.perf_counter()
    if self.algorithm.needs_ref_logprobs:
      micros = [dataclasses.replace(m, ref_logprobs=np.asarray(
          self.programs.ref_logprobs(self.ref_params, m))) for m in micros]
    t_ref = time.perf_counter() - t1
    t2 = time.perf_counter()
    update_metrics = {}
    for _ in range(self.algorithm.num_updates_per_batch):
      self.state, update_metrics = self.programs.micro_update(self.state, micros)
    return t_ref, time.perf_counter() - t2, update_metrics
