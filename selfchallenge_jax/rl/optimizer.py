"""The optimizer: AdamW, linear warmup + cosine decay, global-norm clipping, grad accumulation."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax


def no_decay_on_norms(params: Any) -> Any:
  """Weight-decay mask: True except for RMSNorm scales.

  Selected by name, not by ndim: the stacked per-layer scales are [L, D], so the usual "decay only
  >= 2-D params" rule would decay them. Shrinking a norm scale towards 0 has no regularizing
  meaning (it is a per-channel gain centred on 1).
  """
  def decay(path: tuple[Any, ...], _: Any) -> bool:
    return not any(str(getattr(k, "key", k)).endswith("norm") for k in path)
  return jax.tree_util.tree_map_with_path(decay, params)


def freeze_bottom_layers(num_frozen: int) -> optax.GradientTransformation:
  """Zeroes the updates of what `LlamaConfig.frozen_layers` freezes: layers [0, num_frozen) of
  every stacked `layers` leaf, and the embedding table (which is also the LM head when tied).

  The frozen parts get zero gradients already (the forward stops them), but decoupled weight
  decay would still shrink them; this keeps them exactly as loaded. Stateless.
  """
  def update(updates, state, params=None):
    del params

    def mask(path, u):
      top = str(getattr(path[0], "key", path[0]))
      if top == "embed":
        return jnp.zeros_like(u)
      if top == "layers":
        keep = (jnp.arange(u.shape[0]) >= num_frozen).astype(u.dtype)
        return u * keep.reshape((-1,) + (1,) * (u.ndim - 1))
      return u
    return jax.tree_util.tree_map_with_path(mask, updates), state
  return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def make_optimizer(lr: float, warmup_steps: int, total_steps: int, weight_decay: float = 0.0,
                   b1: float = 0.9, b2: float = 0.999, clip_norm: float | None = 1.0,
                   grad_accum_steps: int = 1, *, eps: float = 1e-8, end_lr_ratio: float = 0.0,
                   decay_mask: Callable[[Any], Any] | None = no_decay_on_norms,
                   frozen_layers: int = 0,
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """Returns (optimizer, schedule).

  Steps count optimizer updates, not micro-batches: with grad_accum_steps = k, optax.MultiSteps
  averages k successive gradients and the inner AdamW (and its schedule) advances once per k
  calls, so k micro-steps equal one step on the mean gradient. Log schedule(state.step // k).
  Clipping sees that mean gradient, as it would the gradient of one big batch.
  frozen_layers > 0 (the model config's): those layers and the embedding are never updated.
  clip_norm None or <= 0 turns clipping off. The lr rises linearly over warmup_steps, then decays
  (cosine) to lr * end_lr_ratio at update total_steps - 1 (warmup included in total_steps).
  """
  if warmup_steps < 0 or total_steps <= warmup_steps:
    raise ValueError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps}, {total_steps}")
  if grad_accum_steps < 1:
    raise ValueError(f"grad_accum_steps must be >= 1, got {grad_accum_steps}")
  base = optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=lr, warmup_steps=warmup_steps, decay_steps=total_steps,
      end_value=lr * end_lr_ratio)

  def schedule(count: jax.Array) -> jax.Array:
    # Shifted by one so update 0 is not wasted at lr 0: update i uses base(i + 1), reaching lr at
    # update warmup_steps - 1 and lr * end_lr_ratio at the last update, total_steps - 1.
    return base(count + 1)

  parts = []
  if clip_norm is not None and clip_norm > 0:
    parts.append(optax.clip_by_global_norm(clip_norm))
  parts.append(optax.adamw(schedule, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay,
                           mask=decay_mask))
  if frozen_layers:
    parts.append(freeze_bottom_layers(frozen_layers))
  optimizer = optax.chain(*parts)
  if grad_accum_steps > 1:
    # A plain (init, update) pair, as TrainState.create and tree_map_params expect.
    optimizer = optax.MultiSteps(optimizer, every_k_schedule=grad_accum_steps)
    optimizer = optimizer.gradient_transformation()
  return optimizer, schedule


def optimizer_from_config(cfg: Any, frozen_layers: int = 0
                          ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer a run config's `rl` section describes (the train phase's and AOT's)."""
  return make_optimizer(
      lr=cfg["lr"], warmup_steps=cfg["warmup_steps"],
      total_steps=max(cfg["steps"], cfg["warmup_steps"] + 1), weight_decay=cfg["weight_decay"],
      clip_norm=cfg["clip_norm"], grad_accum_steps=cfg["grad_accum_steps"],
      frozen_layers=frozen_layers)


def sft_optimizer_from_config(cfg: Any, frozen_layers: int = 0
                              ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The bootstrap's SFT optimizer from a run config's `bootstrap` section: one schedule over the
  copy stage and the demo steps (the bootstrap's and AOT's)."""
  total_steps = cfg["copy_steps"] + cfg["steps"]
  if total_steps < 1:
    raise ValueError("the bootstrap has no SFT step (bootstrap.copy_steps + steps = 0)")
  return make_optimizer(lr=cfg["lr"], warmup_steps=min(cfg["warmup_steps"], total_steps - 1),
                        total_steps=total_steps, frozen_layers=frozen_layers)
