"""The programs a TPU run compiles, as (jitted function, abstract sharded arguments) pairs.

The update and reference-logprob programs come from train/update_step.UpdatePrograms itself (the
trainer's jit, shardings and donation). The sampler programs are built from sampling/decode.py
with the shardings RolloutEngine._extend_fn and Sampler._decode_fn use (those classes need real
params to exist): prefill = extend_rows over all slots, decode = one decode chunk.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from selfchallenge_jax.aot.tpu_config import AotPlan
from selfchallenge_jax.checkpoint.train_state import abstract_state
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params, abstract_sampling_params
from selfchallenge_jax.model.partitioning import param_shardings, sampling_param_shardings
from selfchallenge_jax.rl.algorithms import algorithm_from_config
from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.rl.optimizer import make_optimizer
from selfchallenge_jax.sampling import decode as dec
from selfchallenge_jax.sharding.mesh_jit import mesh_jit
from selfchallenge_jax.sharding.rules import logical_to_spec, tree_shardings
from selfchallenge_jax.train.update_step import UpdatePrograms, batch_shardings

MAX_STOP_IDS = 4           # Sampler's default


@dataclasses.dataclass
class Program:
  name: str
  fn: Any                  # a jax.jit-wrapped function
  args: tuple[Any, ...]    # ShapeDtypeStructs with shardings

  def lower(self):
    return self.fn.lower(*self.args)


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


def _optimizer(config: ml_collections.ConfigDict):
  cfg = config.rl
  optimizer, _ = make_optimizer(
      lr=cfg.lr, warmup_steps=cfg.warmup_steps, total_steps=max(cfg.steps, cfg.warmup_steps + 1),
      weight_decay=cfg.weight_decay, clip_norm=cfg.clip_norm, grad_accum_steps=cfg.grad_accum_steps)
  return optimizer


class RunPrograms:
  """The programs of one run config on one mesh (model may be a probe variant of the plan's)."""

  def __init__(self, config: ml_collections.ConfigDict, plan: AotPlan, model: LlamaConfig,
               mesh: Mesh):
    self.config, self.plan, self.model, self.mesh = config, plan, model, mesh
    self.algorithm = algorithm_from_config(config.rl)
    self.optimizer = _optimizer(config)
    self.updates = UpdatePrograms(model, self.optimizer, self.algorithm, mesh)

  # ---- resident buffers ------------------------------------------------------------------------
  def train_state(self):
    return abstract_state(self.optimizer, abstract_params(self.model), self.updates.state_shardings)

  def ref_params(self):
    return with_shardings(abstract_params(self.model), param_shardings(self.model, self.mesh))

  def sampling_params(self):
    return with_shardings(abstract_sampling_params(self.model),
                          sampling_param_shardings(self.model, self.mesh))

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

  def update(self) -> Program:
    batch = self.rollout_batch()
    key = (jax.tree.structure(batch), tuple(x.shape for x in jax.tree.leaves(batch)))
    fn = self.updates._update_fn(key, batch)     # the trainer's own jit of algorithm.update
    return Program("update", fn, (self.train_state(), batch))

  def ref_logprobs(self) -> Program:
    batch = self.rollout_batch()
    picked = batch.logit_positions
    fn = self.updates._ref_fn(batch.tokens.shape, None if picked is None else picked.shape)
    return Program("ref_logprobs", fn, (self.ref_params(), batch.tokens, batch.positions,
                                        batch.attention_mask, picked))

  # ---- sampler side ----------------------------------------------------------------------------
  def decode_state(self):
    model, plan = self.model, self.plan
    abstract = jax.eval_shape(lambda: dec.init_state(model, plan.num_slots, plan.cache_len,
                                                     MAX_STOP_IDS))
    axes = dec.state_logical_axes(model.num_layers)
    return with_shardings(abstract, tree_shardings(axes, abstract, self.mesh))

  def prefill(self) -> Program:
    """RolloutEngine._extend_fn at rows = num_slots, length = prefill_len, window = cache_len
    (the largest window: an extend near a full context is the memory worst case)."""
    model, b, T = self.model, self.plan.num_slots, self.plan.prefill_len
    rep = NamedSharding(self.mesh, P())

    def run(params, state, row_ids, tokens, num_new, reset, settings):
      return dec.extend_rows(params, state, row_ids, tokens, num_new, reset, settings, model)
    state = self.decode_state()
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    fn = mesh_jit(run, self.mesh,
                  in_shardings=(sampling_param_shardings(model, self.mesh), state_sh, rep, rep,
                                rep, rep, rep),
                  out_shardings=state_sh, donate_argnums=1)

    def arg(shape, dtype):
      return jax.ShapeDtypeStruct(shape, dtype, sharding=rep)
    settings = dict(key_data=arg((b, 2), jnp.uint32), temperature=arg((b,), jnp.float32),
                    top_p=arg((b,), jnp.float32), max_new=arg((b,), jnp.int32),
                    stop_ids=arg((b, MAX_STOP_IDS), jnp.int32))
    return Program("prefill", fn, (self.sampling_params(), state, arg((b,), jnp.int32),
                                   arg((b, T), jnp.int32), arg((b,), jnp.int32), arg((b,), bool),
                                   settings))

  def decode(self) -> Program:
    """Sampler._decode_fn(num_slots, chunk_steps): one device-side decode chunk."""
    model, steps, top_k = self.model, self.plan.chunk_steps, 0
    B = self.plan.num_slots

    def run(params, state):
      return dec.decode(params, state, steps, model, top_k)
    state = self.decode_state()
    state_sh = jax.tree.map(lambda x: x.sharding, state)
    out = NamedSharding(self.mesh, logical_to_spec(("batch", None), (B, steps), self.mesh))
    fn = mesh_jit(run, self.mesh,
                  in_shardings=(sampling_param_shardings(model, self.mesh), state_sh),
                  out_shardings=(state_sh, out, out, out), donate_argnums=1)
    return Program("decode", fn, (self.sampling_params(), state))
