"""Per-token log-probabilities of given tokens under the policy: the quantity every loss here uses."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig


def token_logprobs(params: llama.Params, tokens: jax.Array, positions: jax.Array,
                   attention_mask: jax.Array, config: LlamaConfig) -> tuple[jax.Array, jax.Array]:
  """log p(tokens[:, t+1] | tokens[:, :t+1]) for t < T-1.

  tokens, positions: int [B, T]; attention_mask: bool [B, T].
  Returns (logprobs [B, T-1] float32, entropy [B, T-1] float32), aligned with tokens[:, 1:].
  """
  logits = llama.forward(params, tokens, positions, attention_mask, config)[:, :-1]
  logz = jax.nn.logsumexp(logits, axis=-1)
  target = jnp.take_along_axis(logits, tokens[:, 1:, None], axis=-1)[..., 0]
  probs = jnp.exp(logits - logz[..., None])
  entropy = logz - jnp.sum(probs * logits, axis=-1)
  return target - logz, entropy
