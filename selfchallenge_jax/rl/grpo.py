"""GRPO: clipped-ratio policy loss with group advantages, k3 KL to a reference, and its update.

The per-token objective is a pure function of log-probabilities (grpo_token_loss) so it can be
checked against a NumPy reference; grpo_loss adds the model forward, grpo_update the optimizer step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.logprobs import token_logprobs

LOSS_AGGREGATIONS = ("token_mean", "seq_mean_token_mean")


@dataclasses.dataclass(frozen=True, kw_only=True)
class GRPOConfig:
  """Defaults are the original GRPO (DeepSeekMath); algorithms.py names DAPO / Dr.GRPO variants."""
  clip_eps_low: float = 0.2        # ratio clipped below at 1 - clip_eps_low
  clip_eps_high: float = 0.2       # ... and above at 1 + clip_eps_high (DAPO's clip-higher: 0.28)
  kl_beta: float = 0.04            # 0 = no KL term, so no reference model is needed at all
  loss_agg: str = "seq_mean_token_mean"
  normalize_std: bool = True       # divide advantages by the group std (Dr.GRPO: False)
  drop_zero_variance: bool = False  # skip groups whose rewards are all equal (DAPO)
  num_updates_per_batch: int = 1   # mu: optimizer steps per rollout batch, same old_logprobs
  adv_eps: float = 1e-6            # added to the group std

  def __post_init__(self):
    if self.loss_agg not in LOSS_AGGREGATIONS:
      raise ValueError(f"loss_agg={self.loss_agg!r}; expected one of {LOSS_AGGREGATIONS}")
    if not 0.0 <= self.clip_eps_low < 1.0 or self.clip_eps_high < 0.0:
      raise ValueError(f"need 0 <= clip_eps_low < 1 and clip_eps_high >= 0, got "
                       f"{self.clip_eps_low}, {self.clip_eps_high}")
    if self.kl_beta < 0.0:
      raise ValueError(f"kl_beta must be >= 0, got {self.kl_beta}")
    if self.num_updates_per_batch < 1:
      raise ValueError(f"num_updates_per_batch must be >= 1, got {self.num_updates_per_batch}")

  @property
  def needs_ref_logprobs(self) -> bool:
    return self.kl_beta > 0.0

  def replace(self, **changes: Any) -> "GRPOConfig":
    return dataclasses.replace(self, **changes)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class RolloutBatch:
  """One device batch of rollouts. Per-token arrays are aligned with tokens[:, 1:]."""
  tokens: jax.Array                        # int32 [B, T]
  positions: jax.Array                     # int32 [B, T]
  attention_mask: jax.Array                # bool [B, T]
  loss_mask: jax.Array                     # float [B, T-1]; 1 = a token the policy sampled
  old_logprobs: jax.Array | None = None    # float [B, T-1]; the policy that sampled (GRPO)
  ref_logprobs: jax.Array | None = None    # float [B, T-1]; reference policy (only if kl_beta > 0)
  advantages: jax.Array | None = None      # float [B]; one per rollout (GRPO)
  # int32 [B, K]: the t with loss_mask > 0 (-1 = padding). When given, the LM head runs on these
  # positions only (rl/logprobs.py); losses are unchanged, they read nothing else.
  logit_positions: jax.Array | None = None
  # float [B, T-1]: when given, the loss is sum(per-token loss * loss_weights), the weights already
  # holding the batch's aggregation (loss_weights below): a micro-batch of a larger batch then
  # contributes exactly its share of that batch's loss (train/micro_batches.py).
  loss_weights: jax.Array | None = None


def loss_weights(loss_mask, loss_agg: str, xp=jnp):
  """Per-token weights w such that sum(per_token * w) is the `loss_agg` aggregation over the whole
  batch (numpy or jnp via `xp`): token_mean w = mask / total weight; seq_mean_token_mean
  w = mask / (the row's weight * rows with any weight). Rows and tokens with mask <= 0 get 0;
  normalizers that would be 0 are 1 (fractional weights are not clamped up)."""
  if loss_agg not in LOSS_AGGREGATIONS:
    raise ValueError(f"loss_agg={loss_agg!r}; expected one of {LOSS_AGGREGATIONS}")
  weights = xp.where(loss_mask > 0, loss_mask, 0.0).astype(xp.float32)
  if loss_agg == "token_mean":
    count = weights.sum()
    return weights / xp.where(count > 0, count, 1.0)
  # Sequences with no policy tokens (e.g. a rollout cut off before its first reply) are left
  # out of the mean instead of counting as zero-loss sequences.
  seq_weight = weights.sum(axis=1)
  has_tokens = seq_weight > 0
  rows = xp.maximum(has_tokens.sum(), 1)
  return weights / xp.where(has_tokens, seq_weight, 1.0)[:, None] / rows


def grpo_token_loss(logprobs: jax.Array, old_logprobs: jax.Array, ref_logprobs: jax.Array | None,
                    advantages: jax.Array, loss_mask: jax.Array, cfg: GRPOConfig,
                    entropy: jax.Array | None = None, weights: jax.Array | None = None,
                    ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The GRPO objective from per-token log-probabilities.

  logprobs, old_logprobs, ref_logprobs, loss_mask, entropy: [B, T-1]; advantages: [B].
  loss_mask holds weights (normally 0/1); tokens with weight 0 contribute exactly nothing, even
  when their inputs are inf/nan. `weights` (default loss_weights(loss_mask, cfg.loss_agg)) turn
  per-token losses into the loss: sum(per_token * weights). Metrics are token means over the
  masked tokens whatever loss_agg.
  """
  if cfg.kl_beta > 0.0 and ref_logprobs is None:
    raise ValueError("kl_beta > 0 needs ref_logprobs")
  mask = loss_mask > 0
  # Sanitize every input before any arithmetic: a where() after exp() would still send
  # 0 * inf = nan back through the unselected branch in the backward pass.
  token_weights = jnp.where(mask, loss_mask, 0.0).astype(jnp.float32)
  logp = jnp.where(mask, logprobs, 0.0)
  old = jnp.where(mask, old_logprobs, 0.0)
  adv = jnp.where(mask, advantages[:, None], 0.0)

  ratio = jnp.exp(logp - old)
  clipped = jnp.clip(ratio, 1.0 - cfg.clip_eps_low, 1.0 + cfg.clip_eps_high)
  per_token = -jnp.minimum(ratio * adv, clipped * adv)
  pg_per_token = per_token
  if ref_logprobs is not None:
    ref_diff = jnp.where(mask, ref_logprobs, 0.0) - logp
    kl = jnp.exp(ref_diff) - ref_diff - 1.0        # k3: unbiased, always >= 0
    if cfg.kl_beta > 0.0:
      per_token = per_token + cfg.kl_beta * kl

  count = token_weights.sum()

  def token_mean(x: jax.Array) -> jax.Array:
    return (x * token_weights).sum() / jnp.where(count > 0, count, 1.0)

  if weights is None:
    weights = loss_weights(loss_mask, cfg.loss_agg)
  loss = (per_token * jnp.where(mask, weights, 0.0)).sum()

  metrics = {
      "loss": loss,
      "pg_loss": token_mean(pg_per_token),
      "ratio_mean": token_mean(ratio),
      # The clipped term wins (and the token's gradient is zero) only on these sides.
      "clip_frac_low": token_mean(((ratio < 1.0 - cfg.clip_eps_low) & (adv < 0)).astype(float)),
      "clip_frac_high": token_mean(((ratio > 1.0 + cfg.clip_eps_high) & (adv > 0)).astype(float)),
      "tokens": count,
  }
  if ref_logprobs is not None:
    metrics["kl"] = token_mean(kl)
  if entropy is not None:
    metrics["entropy"] = token_mean(jnp.where(mask, entropy, 0.0))
  return loss, metrics


def grpo_loss(params: Any, batch: RolloutBatch, cfg: GRPOConfig,
              model_config: LlamaConfig) -> tuple[jax.Array, dict[str, jax.Array]]:
  """grpo_token_loss on the policy's log-probabilities of the batch's tokens."""
  if batch.old_logprobs is None or batch.advantages is None:
    raise ValueError("GRPO needs batch.old_logprobs and batch.advantages")
  logprobs, entropy = token_logprobs(params, batch.tokens, batch.positions, batch.attention_mask,
                                     model_config, batch.logit_positions)
  return grpo_token_loss(logprobs, batch.old_logprobs, batch.ref_logprobs, batch.advantages,
                         batch.loss_mask, cfg, entropy=entropy, weights=batch.loss_weights)


def grpo_update(state: TrainState, batch: RolloutBatch, optimizer: optax.GradientTransformation,
                cfg: GRPOConfig, model_config: LlamaConfig,
                ) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimizer step. The trainer calls it num_updates_per_batch times with the same batch."""
  grads, metrics = jax.grad(grpo_loss, has_aux=True)(state.params, batch, cfg, model_config)
  state, metrics["grad_norm"] = state.apply_gradients(grads, optimizer)
  return state, metrics
