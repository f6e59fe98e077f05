"""Episodes (variable-length token lists) -> a static-shape RolloutBatch for the update step."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from selfchallenge_jax.rl.grpo import RolloutBatch
from selfchallenge_jax.rl.logprobs import logit_positions_from_mask
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.sampling.sampler import prompt_bucket


def batch_length(episodes: Sequence[Episode], max_len: int) -> int:
  """Sequence length bucket (power of two) so the update compiles a bounded number of programs."""
  return prompt_bucket(max(len(e.tokens) for e in episodes), max_len)


def make_rollout_batch(episodes: Sequence[Episode], *, advantages: np.ndarray, keep: np.ndarray,
                       length: int, with_old_logprobs: bool,
                       max_policy_tokens: int | None = None) -> RolloutBatch:
  """Right-padded arrays; rows not kept (e.g. dropped zero-variance groups) get loss_mask 0.

  old_logprobs[b, t] is the sampler's logprob of tokens[b, t + 1] (aligned with tokens[:, 1:]).
  max_policy_tokens (the engine's per-episode sampling budget) bounds the tokens a row can have
  in the loss; when it is below length - 1, the batch carries logit_positions so the LM head runs
  on the sampled positions only. The bound is static, so every batch (and every host) has the
  same shape.
  """
  B = len(episodes)
  tokens = np.zeros((B, length), np.int32)
  attention = np.zeros((B, length), bool)
  loss_mask = np.zeros((B, length - 1), np.float32)
  old = np.zeros((B, length - 1), np.float32)
  for b, e in enumerate(episodes):
    n = min(len(e.tokens), length)
    tokens[b, :n] = e.tokens[:n]
    attention[b, :n] = True
    if keep[b]:
      loss_mask[b, :n - 1] = np.asarray(e.loss_mask[1:n], np.float32)
    old[b, :n - 1] = np.asarray(e.logprobs[1:n], np.float32)
  positions = np.broadcast_to(np.arange(length, dtype=np.int32), (B, length)).copy()
  logit_positions = None
  if max_policy_tokens is not None and max_policy_tokens < length - 1:
    logit_positions = logit_positions_from_mask(loss_mask, max_policy_tokens)
  return RolloutBatch(tokens=tokens, positions=positions, attention_mask=attention,
                      loss_mask=loss_mask, old_logprobs=old if with_old_logprobs else None,
                      ref_logprobs=None, advantages=np.asarray(advantages, np.float32),
                      logit_positions=logit_positions)
