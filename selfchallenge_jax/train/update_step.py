"""The jitted, sharded update and reference-logprob programs of the trainer."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from selfchallenge_jax.checkpoint.train_state import TrainState, state_shardings
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params
from selfchallenge_jax.model.partitioning import param_shardings
from selfchallenge_jax.rl.algorithms import Algorithm
from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.rl.logprobs import token_logprobs
from selfchallenge_jax.sharding.mesh_jit import mesh_jit
from selfchallenge_jax.sharding.rules import logical_to_spec
from selfchallenge_jax.train.micro_batches import combine_metrics
from selfchallenge_jax.train.xla_options import training_compiler_options


def train_state_shardings(config: LlamaConfig, optimizer: optax.GradientTransformation,
                          mesh: Mesh) -> TrainState:
  return state_shardings(optimizer, param_shardings(config, mesh), abstract_params(config),
                         NamedSharding(mesh, P()))


def batch_shardings(batch: RolloutBatch, mesh: Mesh) -> RolloutBatch:
  """Rollouts split over the batch-parallel axes (data, fsdp); sequence replicated."""
  return jax.tree.map(
      lambda x: NamedSharding(mesh, logical_to_spec(("batch",) + (None,) * (x.ndim - 1), x.shape,
                                                    mesh)), batch)


class UpdatePrograms:
  """Compiles (per batch shape) the update and reference-logprob functions with explicit shardings."""

  def __init__(self, config: LlamaConfig, optimizer: optax.GradientTransformation,
               algorithm: Algorithm, mesh: Mesh):
    self.config, self.optimizer, self.algorithm, self.mesh = config, optimizer, algorithm, mesh
    self.state_shardings = train_state_shardings(config, optimizer, mesh)
    self._cache: dict[Any, Any] = {}

  def update(self, state: TrainState, batch: RolloutBatch) -> tuple[TrainState, dict[str, Any]]:
    key = (jax.tree.structure(batch), tuple(x.shape for x in jax.tree.leaves(batch)))
    return self._update_fn(key, batch)(state, batch)

  def micro_update(self, state: TrainState, micros: list[RolloutBatch]
                   ) -> tuple[TrainState, dict[str, Any]]:
    """One optimizer step on the summed gradients of `micros` (train/micro_batches.py: each
    carries its loss_weights, so the sum is the whole batch's gradient). Single host: the
    micro-batches are host arrays split over this host's devices. No micro-batch (no row with a
    gradient) still takes the step, with zero gradients, as the full-batch update would."""
    grads, metrics = None, []
    for micro in micros:
      key = (jax.tree.structure(micro), tuple(x.shape for x in jax.tree.leaves(micro)))
      micro = jax.device_put(micro, batch_shardings(micro, self.mesh))
      g, m = self._grad_fn(key, micro)(state.params, micro)
      grads = g if grads is None else self._add_fn(grads, g)
      metrics.append(m)
    if grads is None:
      grads = self._zeros_fn(state.params)
    state, grad_norm = self._apply_fn(state, grads)
    out = combine_metrics([{k: float(v) for k, v in m.items()} for m in jax.device_get(metrics)])
    out.update(grad_norm=float(grad_norm), micro_batches=float(len(micros)))
    return state, out

  def _grad_fn(self, key, micro: RolloutBatch):
    """The loss's gradient on one micro-batch shape (one program per length bucket)."""
    name = ("grad", key)
    if name not in self._cache:
      algorithm, config = self.algorithm, self.config

      def grad(params, micro):
        (loss, metrics), grads = jax.value_and_grad(algorithm.loss, has_aux=True)(params, micro,
                                                                                  config)
        return grads, {**metrics, "loss": loss}
      params_sh = self.state_shardings.params
      self._cache[name] = mesh_jit(
          grad, self.mesh, in_shardings=(params_sh, batch_shardings(micro, self.mesh)),
          out_shardings=(params_sh, NamedSharding(self.mesh, P())),
          compiler_options=training_compiler_options(self.mesh.devices.flat))
    return self._cache[name]

  @functools.cached_property
  def _add_fn(self):
    params_sh = self.state_shardings.params
    return mesh_jit(lambda a, b: jax.tree.map(jnp.add, a, b), self.mesh,
                    in_shardings=(params_sh, params_sh), out_shardings=params_sh,
                    donate_argnums=0)

  @functools.cached_property
  def _zeros_fn(self):
    params_sh = self.state_shardings.params
    return mesh_jit(lambda p: jax.tree.map(jnp.zeros_like, p), self.mesh,
                    in_shardings=(params_sh,), out_shardings=params_sh)

  @functools.cached_property
  def _apply_fn(self):
    optimizer = self.optimizer
    return mesh_jit(lambda state, grads: state.apply_gradients(grads, optimizer), self.mesh,
                    in_shardings=(self.state_shardings, self.state_shardings.params),
                    out_shardings=(self.state_shardings, NamedSharding(self.mesh, P())),
                    donate_argnums=(0, 1))

  def ref_logprobs(self, ref_params: Any, batch: RolloutBatch) -> jax.Array:
    picked = batch.logit_positions
    fn = self._ref_fn(batch.tokens.shape, None if picked is None else picked.shape)
    return fn(ref_params, batch.tokens, batch.positions, batch.attention_mask, picked)

  def _update_fn(self, key, batch: RolloutBatch):
    """One compiled update per batch structure and shape (lengths are bucketed upstream)."""
    if key not in self._cache:
      algorithm, optimizer, config = self.algorithm, self.optimizer, self.config

      def update(state, batch):
        return algorithm.update(state, batch, optimizer, config)
      self._cache[key] = mesh_jit(
          update, self.mesh,
          in_shardings=(self.state_shardings, batch_shardings(batch, self.mesh)),
          out_shardings=(self.state_shardings, NamedSharding(self.mesh, P())), donate_argnums=0,
          compiler_options=training_compiler_options(self.mesh.devices.flat))
    return self._cache[key]

  @functools.lru_cache(maxsize=16)
  def _ref_fn(self, shape, picked_shape):
    config = self.config
    batch = NamedSharding(self.mesh, logical_to_spec(("batch", None), shape, self.mesh))
    picked = (None if picked_shape is None else
              NamedSharding(self.mesh, logical_to_spec(("batch", None), picked_shape, self.mesh)))

    def ref(params, tokens, positions, mask, logit_positions):
      return token_logprobs(params, tokens, positions, mask, config, logit_positions)[0]
    return mesh_jit(ref, self.mesh,
                    in_shardings=(param_shardings(config, self.mesh), batch, batch, batch, picked),
                    out_shardings=batch)
