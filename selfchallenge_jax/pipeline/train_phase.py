"""Train phase: GRPO / RFT on the challenger's kept tasks, with orbax checkpoints and exact resume.

Checkpoints (every N steps, on SIGTERM, at the end) hold params, optimizer state, step, rng, the
Grain iterator state and the run config. A restarted run restores all of it and continues: rollout
seeds derive from (seed, step), so the following steps equal those of an uninterrupted run.
"""

from __future__ import annotations

import signal
import time

import jax
from absl import logging

from selfchallenge_jax.checkpoint.export import load_params
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.train_state import abstract_state
from selfchallenge_jax.data.task_pipeline import TaskBatchIterator, TaskPipelineConfig
from selfchallenge_jax.distributed.hosts import HostGroup
from selfchallenge_jax.model.llama import abstract_params
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.pipeline.engine_factory import make_engine
from selfchallenge_jax.pipeline.metrics import MetricsWriter
from selfchallenge_jax.pipeline.progress import Progress
from selfchallenge_jax.rl.algorithms import algorithm_from_config
from selfchallenge_jax.rl.optimizer import optimizer_from_config
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError
from selfchallenge_jax.tasks.dataset_reader import open_task_source
from selfchallenge_jax.train import programs as training_programs
from selfchallenge_jax.train.loop import iterations
from selfchallenge_jax.train.programs import TrainSpec
from selfchallenge_jax.train.rewards import RewardStage
from selfchallenge_jax.train.trainer import Trainer


class _Preemption:
  """SIGTERM (a TPU VM preemption notice) asks the loop to checkpoint and stop."""

  def __init__(self):
    self.requested = False
    self._previous = signal.signal(signal.SIGTERM, self._handle)

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM: checkpointing at the end of this step, then stopping")
    self.requested = True

  def restore(self):
    signal.signal(signal.SIGTERM, self._previous)


def _host_data_state(iterator: TaskBatchIterator, hosts: HostGroup):
  """(save, restore) of the Grain state; multi-host: every host's own state in one JSON item."""
  if hosts.single:
    return iterator.get_state, iterator.set_state

  def save():
    return {"per_process": hosts.allgather(iterator.get_state())}

  def restore(state):
    saved = state.get("per_process", ())
    if len(saved) != hosts.process_count:
      raise ValueError(f"the checkpoint's data state is for {len(saved) or 1} host(s), this run "
                       f"has {hosts.process_count}; it cannot resume the data order")
    iterator.set_state(saved[hosts.process_index])
  return save, restore


def run_train(ctx: RunContext) -> dict:
  cfg = ctx.config.rl
  t0 = time.time()
  try:   # no kept task, or fewer than one batch per host -> a clear error
    source = open_task_source(ctx.path("tasks", "challenge"), "kept")
    iterator = TaskBatchIterator(source, TaskPipelineConfig(
        tasks_per_batch=cfg.tasks_per_batch, group_size=cfg.group_size, seed=ctx.config.seed))
  except EmptyTaskDatasetError as e:
    if not cfg.skip_if_no_tasks:
      raise
    # An under-trained challenger may keep (almost) nothing in a round: say so and go on.
    print(f"[train] SKIPPED: too few kept tasks to train on ({e})")
    return {"skipped": str(e), "seconds": time.time() - t0}
  config = ctx.model_config()
  optimizer, schedule = optimizer_from_config(cfg, config.frozen_layers)
  algorithm = algorithm_from_config(cfg)
  ckpt = Checkpointer(ctx.path("checkpoints", "train"), max_to_keep=ctx.config.checkpoint.keep)
  spec = TrainSpec(config, optimizer, ctx.mesh)
  data_state = None
  if ckpt.latest_step() is not None:
    state, _, data_state = ckpt.restore(abstract_state(optimizer, abstract_params(config),
                                                       spec.state_shardings))
    print(f"[train] resumed from {ckpt.directory} at step {ckpt.latest_step()}")
  else:                 # restored into its shardings; the optimizer state built in its own
    config, boot_params = ctx.load_policy()
    state = training_programs.create_state(spec)(boot_params, jax.random.key(ctx.config.seed))
  # Multi-host: each host samples its Grain shard on its own devices; process 0 writes metrics.
  hosts = HostGroup(ctx.mesh, config)
  ref_params = None
  if algorithm.needs_ref_logprobs:       # the frozen bootstrap policy; beta = 0 keeps no copy
    _, ref_params, _ = load_params(ctx.path("checkpoints", "bootstrap"), ctx.mesh)
  save_data_state, restore_data_state = _host_data_state(iterator, hosts)
  if data_state is not None:
    restore_data_state(data_state)
  engine = make_engine(ctx, hosts.sampler_params(state.params), config, mesh=hosts.sampling_mesh)
  metrics_writer = MetricsWriter(ctx.workdir) if hosts.is_writer else None
  preemption = _Preemption()
  trained: set[str] = set()                # distinct kept tasks this host's rows held

  def next_tasks():
    tasks = next(iterator)
    trained.update(getattr(getattr(t, "task", t), "task_id", "") for t in tasks)
    return tasks
  metadata = {"model_config": config.to_dict(), "run_config": ctx.config.to_dict()}
  last = {}
  try:
    with SandboxPool(ctx.config.sandbox.num_workers) as pool:
      rewards = RewardStage(pool)
      trainer = Trainer(config=config, state=state, optimizer=optimizer, algorithm=algorithm,
                        engine=engine, rewards=rewards, mesh=ctx.mesh,
                        group_size=cfg.group_size, seed=ctx.config.seed, ref_params=ref_params,
                        hosts=hosts, micro_rows=cfg.micro_batch_rows,
                        micro_length_multiple=cfg.micro_length_multiple)
      progress = Progress("train", cfg.steps)
      every = ctx.config.checkpoint.every_steps
      # A SIGTERM may reach the hosts at different steps: they stop together when any has one.
      preempted = (lambda: preemption.requested) if hosts.single else (
          lambda: any(hosts.allgather(preemption.requested)))
      try:
        for step, last, data_state in iterations(
            trainer, next_tasks, cfg.steps, overlap_next_batch=cfg.overlap_next_batch,
            drain_at=lambda step: step % every == 0 or preempted(),
            data_state=save_data_state):
          last["lr"] = float(schedule(step - 1))
          if metrics_writer is not None:
            metrics_writer.write("train", step, last)
            progress.update(step, reward=last["reward/mean"], loss=last.get("loss", 0.0))
          stop = preempted()
          if step % every == 0 or stop or step == cfg.steps:
            ckpt.save(step, trainer.state, metadata, data_state=data_state, force=True)
          if stop:
            ckpt.wait()
            raise SystemExit(f"preempted: checkpointed step {step} in {ckpt.directory}")
      finally:
        rewards.close()
  finally:
    preemption.restore()
    engine.close()
    ckpt.close()
  trained = set().union(*map(set, hosts.allgather(sorted(trained - {""}))))   # every host's
  return {"steps": cfg.steps, "final": last, "kept_tasks": len(source),
          "tasks_trained": len(trained), "seconds": time.time() - t0}
