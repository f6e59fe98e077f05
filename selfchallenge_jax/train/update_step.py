"""The trainer's update and reference-logprob programs (train/programs.py), built per batch
shape in the trainer's own table."""

from __future__ import annotations

from typing import Any

import jax
import optax
from jax.sharding import Mesh

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.algorithms import Algorithm
from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.sharding.program import ProgramTable
from selfchallenge_jax.train import programs as training_programs
from selfchallenge_jax.train.micro_batches import combine_metrics
from selfchallenge_jax.train.programs import TrainSpec, batch_shardings


def _shape_key(batch: Any) -> tuple[Any, ...]:
  return (jax.tree.structure(batch), tuple(x.shape for x in jax.tree.leaves(batch)))


class UpdatePrograms:
  """The update side of one trainer: whole-batch updates, micro-batched updates, ref logprobs."""

  def __init__(self, config: LlamaConfig, optimizer: optax.GradientTransformation,
               algorithm: Algorithm, mesh: Mesh):
    self.spec, self.algorithm = TrainSpec(config, optimizer, mesh), algorithm
    self.programs = ProgramTable()

  @property
  def state_shardings(self) -> TrainState:
    return self.spec.state_shardings

  def update_program(self, batch: RolloutBatch):
    return self.programs.get(("update", _shape_key(batch)), lambda: training_programs.update(
        self.spec, self.algorithm, batch))

  def update(self, state: TrainState, batch: RolloutBatch) -> tuple[TrainState, dict[str, Any]]:
    return self.update_program(batch)(state, batch)

  def micro_update(self, state: TrainState, micros: list[RolloutBatch]
                   ) -> tuple[TrainState, dict[str, Any]]:
    """One optimizer step on the summed gradients of `micros` (train/micro_batches.py: each
    carries its loss_weights, so the sum is the whole batch's gradient). Single host: the
    micro-batches are host arrays split over this host's devices. No micro-batch (no row with a
    gradient) still takes the step, with zero gradients, as the full-batch update would."""
    spec, table = self.spec, self.programs
    grads, metrics = None, []
    for micro in micros:
      micro = jax.device_put(micro, batch_shardings(micro, spec.mesh))
      grad = table.get(("grad", _shape_key(micro)),
                       lambda: training_programs.grad(spec, self.algorithm, micro))
      g, m = grad(state.params, micro)
      grads = g if grads is None else table.get(
          ("add_grads",), lambda: training_programs.add_grads(spec))(grads, g)
      metrics.append(m)
    if grads is None:
      grads = table.get(("zero_grads",), lambda: training_programs.zero_grads(spec))(state.params)
    state, grad_norm = table.get(("apply_grads",),
                                 lambda: training_programs.apply_grads(spec))(state, grads)
    out = combine_metrics([{k: float(v) for k, v in m.items()} for m in jax.device_get(metrics)])
    out.update(grad_norm=float(grad_norm), micro_batches=float(len(micros)))
    return state, out

  def ref_logprobs_program(self, tokens_shape, picked_shape):
    return self.programs.get(("ref_logprobs", tokens_shape, picked_shape),
                             lambda: training_programs.ref_logprobs(
                                 self.spec.config, self.spec.mesh, tokens_shape, picked_shape))

  def ref_logprobs(self, ref_params: Any, batch: RolloutBatch) -> jax.Array:
    picked = batch.logit_positions
    fn = self.ref_logprobs_program(tuple(batch.tokens.shape),
                                   None if picked is None else tuple(picked.shape))
    return fn(ref_params, batch.tokens, batch.positions, batch.attention_mask, picked)
