"""Supervised / rejection fine-tuning: masked next-token cross-entropy and its optimizer update."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.logprobs import token_logprobs


def sft_loss(params: Any, tokens: jax.Array, positions: jax.Array, attention_mask: jax.Array,
             loss_mask: jax.Array, config: LlamaConfig,
             logit_positions: jax.Array | None = None,
             weights: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Token-mean negative log-likelihood over loss_mask [B, T-1] (1 = a token the model wrote).

  logit_positions: optional [B, K], every t where loss_mask is 1 (-1 = padding; see
  rl/logprobs.token_logprobs): the LM head then runs on those positions only.
  weights: optional [B, T-1]; the loss is then -sum(logprobs * weights) (a micro-batch's share of
  a larger batch's token mean, see grpo.loss_weights). The "loss" metric is this batch's own mean.
  """
  logprobs, _ = token_logprobs(params, tokens, positions, attention_mask, config, logit_positions)
  mask = loss_mask.astype(jnp.float32)
  count = jnp.maximum(mask.sum(), 1.0)
  mean_nll = -(logprobs * mask).sum() / count
  loss = mean_nll if weights is None else -(logprobs * jnp.where(mask > 0, weights, 0.0)).sum()
  return loss, {"loss": mean_nll, "tokens": mask.sum()}


def sft_update(state: TrainState, batch: tuple[jax.Array, ...],
               optimizer: optax.GradientTransformation, config: LlamaConfig):
  """One optimizer step on batch = (tokens, positions, attention_mask, loss_mask[, logit_positions])."""
  tokens, positions, attention_mask, loss_mask, *logit_positions = batch
  grads, metrics = jax.grad(sft_loss, has_aux=True)(
      state.params, tokens, positions, attention_mask, loss_mask, config, *logit_positions)
  state, metrics["grad_norm"] = state.apply_gradients(grads, optimizer)
  return state, metrics
