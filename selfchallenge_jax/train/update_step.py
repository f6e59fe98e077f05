"""The jitted, sharded update and reference-logprob programs of the trainer."""

from __future__ import annotations

import functools
from typing import Any

import jax
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
