"""The programs a TPU run compiles, as (Program, abstract sharded arguments) pairs.

Every program comes from the programs layer (sampling/programs.py, train/programs.py), the
definitions the sampler, the rollout engine and the trainer themselves build: prefill = the
engine's extend_rows over all slots, decode = one decode chunk, update and reference logprobs as
the trainer builds them.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from jax.sharding import Mesh

from selfchallenge_jax.aot.tpu_config import AotPlan
from selfchallenge_jax.checkpoint.train_state import abstract_state
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params, abstract_sampling_params
from selfchallenge_jax.rl.algorithms import algorithm_from_config
from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.rl.optimizer import optimizer_from_config, sft_optimizer_from_config
from selfchallenge_jax.sampling import programs as sampling_programs
from selfchallenge_jax.sharding.program import Program
from selfchallenge_jax.train import programs as training_programs
from selfchallenge_jax.train.programs import TrainSpec, batch_shardings


@dataclasses.dataclass
class CompileTarget:
  name: str
  program: Program
  args: tuple[Any, ...]    # ShapeDtypeStructs with shardings

  def lower(self):
    return self.program.lower(*self.args)


def with_shardings(tree: Any, shardings: Any) -> Any:
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), tree,
                      shardings)


def per_chip_bytes(tree: Any) -> int:
  """Bytes one device holds of a tree of sharded ShapeDtypeStructs (the largest shard)."""
  total = 0
  for x in jax.tree.leaves(tree):
    shard = x.sharding.shard_shape(x.shape)
    total += jnp.dtype(x.dtype).itemsize * math.prod(shard)
  return total


class RunPrograms:
  """The programs of one run config on one mesh (model may be a probe variant of the plan's)."""

  def __init__(self, config: ml_collections.ConfigDict, plan: AotPlan, model: LlamaConfig,
               mesh: Mesh, sampling_mesh: Mesh | None = None):
    """`sampling_mesh`: where one host's sampler runs (its block of `mesh`; default `mesh`)."""
    self.config, self.plan, self.model, self.mesh = config, plan, model, mesh
    self.algorithm = algorithm_from_config(config.rl)
    self.optimizer, _ = optimizer_from_config(config.rl, model.frozen_layers)
    self.train = TrainSpec(model, self.optimizer, mesh)
    self.sampling = sampling_programs.SamplingSpec(config=model, mesh=sampling_mesh or mesh,
                                                   cache_len=plan.cache_len)

  # ---- resident buffers ------------------------------------------------------------------------
  def train_state(self):
    return abstract_state(self.optimizer, abstract_params(self.model), self.train.state_shardings)

  def ref_params(self):
    return with_shardings(abstract_params(self.model), self.train.param_shardings)

  def sampling_params(self):
    return with_shardings(abstract_sampling_params(self.model), self.sampling.param_shardings)

  # ---- update side -----------------------------------------------------------------------------
  def rollout_batch(self) -> RolloutBatch:
    """As make_rollout_batch builds it at the longest length (the trainer passes the engine's
    per-episode budget as max_policy_tokens: the LM head runs on that many positions per row)."""
    B, T, W = self.plan.update_batch, self.plan.seq_len, self.plan.head_positions
    i32, f32 = jnp.int32, jnp.float32
    per_token = jax.ShapeDtypeStruct((B, T - 1), f32)
    batch = RolloutBatch(
        logit_positions=jax.ShapeDtypeStruct((B, W), i32) if W < T - 1 else None,
        tokens=jax.ShapeDtypeStruct((B, T), i32), positions=jax.ShapeDtypeStruct((B, T), i32),
        attention_mask=jax.ShapeDtypeStruct((B, T), bool), loss_mask=per_token,
        old_logprobs=per_token if self.algorithm.needs_old_logprobs else None,
        ref_logprobs=per_token if self.algorithm.needs_ref_logprobs else None,
        advantages=jax.ShapeDtypeStruct((B,), f32))
    return with_shardings(batch, batch_shardings(batch, self.mesh))

  def update(self) -> CompileTarget:
    batch = self.rollout_batch()
    return CompileTarget("update", training_programs.update(self.train, self.algorithm, batch),
                         (self.train_state(), batch))

  def ref_logprobs(self) -> CompileTarget:
    batch = self.rollout_batch()
    picked = batch.logit_positions
    program = training_programs.ref_logprobs(self.model, self.mesh, batch.tokens.shape,
                                             None if picked is None else picked.shape)
    return CompileTarget("ref_logprobs", program, (self.ref_params(), batch.tokens,
                                                   batch.positions, batch.attention_mask, picked))

  def sft_step(self) -> CompileTarget:
    """The bootstrap's SFT step on its largest demo batch (plan.sft_rows x sft_len:
    tpu_config.sft_batch), the LM head on every position (the widest a demo batch asks for)."""
    boot = self.config.bootstrap
    optimizer, _ = sft_optimizer_from_config(boot, self.model.frozen_layers)
    spec = TrainSpec(self.model, optimizer, self.mesh)
    rows, T = self.plan.sft_rows, self.plan.sft_len
    i32 = jnp.int32
    batch = (jax.ShapeDtypeStruct((rows, T), i32), jax.ShapeDtypeStruct((rows, T), i32),
             jax.ShapeDtypeStruct((rows, T), bool), jax.ShapeDtypeStruct((rows, T - 1), jnp.float32),
             jax.ShapeDtypeStruct((rows, T - 1), i32))
    batch = with_shardings(batch, batch_shardings(batch, self.mesh))
    state = abstract_state(optimizer, abstract_params(self.model), spec.state_shardings)
    return CompileTarget("sft_step", training_programs.sft_step(spec, batch), (state, *batch))

  # ---- sampler side ----------------------------------------------------------------------------
  def decode_state(self):
    rows = self.plan.num_slots
    return with_shardings(self.sampling.abstract_state(rows), self.sampling.state_shardings(rows))

  def prefill(self) -> CompileTarget:
    """The engine's extend_rows at rows = num_slots, length = prefill_len, window = cache_len
    (the largest window: an extend near a full context is the memory worst case)."""
    spec, b, T = self.sampling, self.plan.num_slots, self.plan.prefill_len
    rep = spec.replicated

    def arg(shape, dtype):
      return jax.ShapeDtypeStruct(shape, dtype, sharding=rep)
    settings = dict(key_data=arg((b, 2), jnp.uint32), temperature=arg((b,), jnp.float32),
                    top_p=arg((b,), jnp.float32), max_new=arg((b,), jnp.int32),
                    stop_ids=arg((b, spec.max_stop_ids), jnp.int32))
    program = sampling_programs.extend_rows(spec, b, self.plan.cache_len)
    return CompileTarget("prefill", program, (
        self.sampling_params(), self.decode_state(), arg((b,), jnp.int32),
        arg((b, T), jnp.int32), arg((b,), jnp.int32), arg((b,), bool), settings))

  def decode(self) -> CompileTarget:
    """The sampler's decode program at rows = num_slots, steps = chunk_steps: one decode chunk."""
    program = sampling_programs.decode(self.sampling, self.plan.num_slots, self.plan.chunk_steps)
    return CompileTarget("decode", program, (self.sampling_params(), self.decode_state()))
