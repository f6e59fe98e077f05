"""The training programs: train-state creation, the SFT step, the GRPO/RFT update (whole-batch or
as micro-batch gradients + one optimizer step) and the reference model's logprobs.

Params and optimizer moments are sharded by the rule table (model/partitioning.param_shardings);
batches are split over the batch-parallel axes (data, fsdp), sequence replicated; metrics come
back replicated. The forward+backward programs carry the training compiler options
(train/xla_options.py).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from selfchallenge_jax.checkpoint.train_state import TrainState, state_shardings
from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params
from selfchallenge_jax.model.partitioning import param_shardings
from selfchallenge_jax.rl.algorithms import Algorithm
from selfchallenge_jax.rl.logprobs import token_logprobs
from selfchallenge_jax.rl.sft import sft_update
from selfchallenge_jax.sharding.program import Program
from selfchallenge_jax.sharding.rules import batch_sharding
from selfchallenge_jax.train.xla_options import training_compiler_options


def train_state_shardings(config: LlamaConfig, optimizer: optax.GradientTransformation,
                          mesh: Mesh) -> TrainState:
  return state_shardings(optimizer, param_shardings(config, mesh), abstract_params(config),
                         NamedSharding(mesh, P()))


def batch_shardings(batch: Any, mesh: Mesh) -> Any:
  """Any pytree of [B, ...] arrays (or ShapeDtypeStructs) split over the batch-parallel axes."""
  return jax.tree.map(lambda x: batch_sharding(x.shape, mesh), batch)


@dataclasses.dataclass(frozen=True, eq=False)
class TrainSpec:
  """What the training programs of one run share."""
  config: LlamaConfig
  optimizer: optax.GradientTransformation
  mesh: Mesh

  @functools.cached_property
  def state_shardings(self) -> TrainState:
    return train_state_shardings(self.config, self.optimizer, self.mesh)

  @property
  def param_shardings(self) -> Any:
    return self.state_shardings.params

  @property
  def replicated(self) -> NamedSharding:
    return NamedSharding(self.mesh, P())

  @property
  def compiler_options(self) -> dict[str, str]:
    return training_compiler_options(self.mesh.devices.flat)


def init_params(config: LlamaConfig, mesh: Mesh) -> Program:
  """(rng key) -> random params (the from-scratch start), created in their shardings."""
  return Program("init_params", lambda key: llama.init_params(config, key), mesh,
                 in_shardings=(NamedSharding(mesh, P()),),
                 out_shardings=param_shardings(config, mesh))


def create_state(spec: TrainSpec) -> Program:
  """(params, rng key) -> TrainState: the optimizer state built by the program, in its shardings
  (never whole on one device); params donated."""
  optimizer = spec.optimizer
  return Program("create_state", lambda p, key: TrainState.create(p, optimizer, key), spec.mesh,
                 in_shardings=(spec.param_shardings, spec.replicated),
                 out_shardings=spec.state_shardings, donate_argnums=0)


def sft_step(spec: TrainSpec, batch: tuple[Any, ...]) -> Program:
  """(state, tokens, positions, attention_mask, loss_mask[, logit_positions]) -> (state, metrics):
  one SFT step (rl/sft.py) on `batch`'s shapes; state donated."""
  optimizer, config = spec.optimizer, spec.config
  return Program("sft_step", lambda s, *b: sft_update(s, b, optimizer, config), spec.mesh,
                 in_shardings=(spec.state_shardings, *batch_shardings(tuple(batch), spec.mesh)),
                 out_shardings=(spec.state_shardings, spec.replicated), donate_argnums=0,
                 compiler_options=spec.compiler_options)


def update(spec: TrainSpec, algorithm: Algorithm, batch: Any) -> Program:
  """(state, RolloutBatch) -> (state, metrics): the algorithm's whole-batch update on `batch`'s
  structure and shapes; state donated."""
  optimizer, config = spec.optimizer, spec.config

  def run(state, batch):
    return algorithm.update(state, batch, optimizer, config)
  return Program("update", run, spec.mesh,
                 in_shardings=(spec.state_shardings, batch_shardings(batch, spec.mesh)),
                 out_shardings=(spec.state_shardings, spec.replicated), donate_argnums=0,
                 compiler_options=spec.compiler_options)


def grad(spec: TrainSpec, algorithm: Algorithm, micro: Any) -> Program:
  """(params, RolloutBatch) -> (grads, metrics with "loss"): the loss's gradient on one
  micro-batch (its loss_weights make the micro-batches' sum the whole batch's gradient)."""
  config = spec.config

  def run(params, micro):
    (loss, metrics), grads = jax.value_and_grad(algorithm.loss, has_aux=True)(params, micro, config)
    return grads, {**metrics, "loss": loss}
  return Program("grad", run, spec.mesh,
                 in_shardings=(spec.param_shardings, batch_shardings(micro, spec.mesh)),
                 out_shardings=(spec.param_shardings, spec.replicated),
                 compiler_options=spec.compiler_options)


def add_grads(spec: TrainSpec) -> Program:
  """(a, b) -> a + b, leaf by leaf, in the params' shardings; a donated."""
  sh = spec.param_shardings
  return Program("add_grads", lambda a, b: jax.tree.map(jnp.add, a, b), spec.mesh,
                 in_shardings=(sh, sh), out_shardings=sh, donate_argnums=0)


def zero_grads(spec: TrainSpec) -> Program:
  """params -> zeros like them (the step of a batch without a row that has a gradient)."""
  sh = spec.param_shardings
  return Program("zero_grads", lambda p: jax.tree.map(jnp.zeros_like, p), spec.mesh,
                 in_shardings=(sh,), out_shardings=sh)


def apply_grads(spec: TrainSpec) -> Program:
  """(state, grads) -> (state, grad global norm): one optimizer step; the state donated (the
  gradients have no output of their own to alias: donating them only warns)."""
  optimizer = spec.optimizer
  return Program("apply_grads", lambda state, g: state.apply_gradients(g, optimizer), spec.mesh,
                 in_shardings=(spec.state_shardings, spec.param_shardings),
                 out_shardings=(spec.state_shardings, spec.replicated), donate_argnums=0)


def ref_logprobs(config: LlamaConfig, mesh: Mesh, tokens_shape: tuple[int, int],
                 picked_shape: tuple[int, int] | None) -> Program:
  """(params, tokens, positions, attention_mask, logit_positions | None) -> [B, T-1] logprobs of
  the frozen reference policy (training layout)."""
  rows = batch_sharding(tokens_shape, mesh)
  picked = None if picked_shape is None else batch_sharding(picked_shape, mesh)

  def run(params, tokens, positions, mask, logit_positions):
    return token_logprobs(params, tokens, positions, mask, config, logit_positions)[0]
  return Program("ref_logprobs", run, mesh,
                 in_shardings=(param_shardings(config, mesh), rows, rows, rows, picked),
                 out_shardings=rows)
