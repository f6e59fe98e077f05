"""The train state orbax saves: params, optimizer state, step and rng as one pytree of arrays."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TrainState:
  step: jax.Array            # int32 scalar
  params: Any
  opt_state: Any
  rng: jax.Array             # uint32 raw key data (jax.random.key_data), so orbax stores a plain array

  @classmethod
  def create(cls, params: Any, optimizer: optax.GradientTransformation, rng: jax.Array,
             step: int = 0) -> "TrainState":
    if jnp.issubdtype(rng.dtype, jax.dtypes.prng_key):
      rng = jax.random.key_data(rng)
    return cls(step=jnp.asarray(step, jnp.int32), params=params, opt_state=optimizer.init(params),
               rng=rng)

  def apply_gradients(self, grads: Any, optimizer: optax.GradientTransformation
                      ) -> tuple["TrainState", jax.Array]:
    """One optimizer step: (the next state, the gradients' global norm)."""
    updates, opt_state = optimizer.update(grads, self.opt_state, self.params)
    params = optax.apply_updates(self.params, updates)
    return self.replace(step=self.step + 1, params=params, opt_state=opt_state), optax.tree.norm(
        grads)

  @property
  def key(self) -> jax.Array:
    return jax.random.wrap_key_data(self.rng)

  def replace(self, **changes: Any) -> "TrainState":
    return dataclasses.replace(self, **changes)


def state_shardings(optimizer: optax.GradientTransformation, params_shardings: Any,
                    abstract_params: Any, replicated: jax.sharding.Sharding) -> TrainState:
  """Shardings of a TrainState: optimizer moments mirror their params, everything else replicated."""
  abstract_opt = jax.eval_shape(optimizer.init, abstract_params)
  opt = optax.tree_map_params(optimizer, lambda _, s: s, abstract_opt, params_shardings,
                              transform_non_params=lambda _: replicated)
  return TrainState(step=replicated, params=params_shardings, opt_state=opt, rng=replicated)


def abstract_state(optimizer: optax.GradientTransformation, abstract_params: Any,
                   shardings: TrainState) -> TrainState:
  """ShapeDtypeStructs of a TrainState with `shardings`: a restore or AOT-compile target."""
  shapes = TrainState(step=jax.ShapeDtypeStruct((), jnp.int32), params=abstract_params,
                      opt_state=jax.eval_shape(optimizer.init, abstract_params),
                      rng=jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0))))
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), shapes,
                      shardings)
