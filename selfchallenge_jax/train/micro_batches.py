"""A rollout batch -> the micro-batches an update actually needs to compute.

Most of a small model's GRPO batch carries no gradient: a group whose rollouts all succeed or all
fail has advantage 0 for every token (and, without a KL term, a loss of exactly 0), yet a
full-batch update runs its forward and backward anyway, padded to the longest rollout of the whole
batch. Here the loss of the whole batch is written as a weighted sum over tokens (rl/grpo.py
`loss_weights`, computed once for the whole batch, so the aggregation and its normalizer are the
full batch's), the rows that contribute nothing are left out, and the rest are cut into
micro-batches of `rows` consecutive rows (a GRPO group each), each trimmed to its own length
bucket. Summing the micro-batches' gradients gives the full batch's gradient exactly.

Shapes stay bounded: a micro-batch is (rows, a multiple of `length_multiple`), so an update
compiles one program per length bucket however the rewards fall.
"""

from __future__ import annotations

import numpy as np

from selfchallenge_jax.rl.grpo import RolloutBatch, loss_weights
from selfchallenge_jax.rl.logprobs import logit_positions_from_mask


def contributing_rows(batch: RolloutBatch, weights: np.ndarray, *,
                      advantage_matters: bool) -> np.ndarray:
  """bool [B]: rows with a positive loss weight and, where the loss is advantage * (...) only
  (policy gradient without a KL term), a non-zero advantage."""
  rows = (weights > 0).any(axis=1)
  if advantage_matters and batch.advantages is not None:
    rows &= np.asarray(batch.advantages) != 0
  return rows


def _trim(batch: RolloutBatch, index: np.ndarray, length: int, policy_width: int | None,
          weights: np.ndarray, zero_rows: np.ndarray) -> RolloutBatch:
  def rows(x, cut):
    if x is None:
      return None
    x = np.asarray(x)[index]
    return x[:, :cut] if cut is not None else x
  loss_mask = rows(batch.loss_mask, length - 1)
  micro_weights = rows(weights, length - 1)
  loss_mask[zero_rows] = 0.0            # padding rows: copies of a real row that count for nothing
  micro_weights[zero_rows] = 0.0
  logit_positions = None
  if policy_width is not None and policy_width < length - 1:
    logit_positions = logit_positions_from_mask(loss_mask, policy_width)
  return RolloutBatch(
      tokens=rows(batch.tokens, length), positions=rows(batch.positions, length),
      attention_mask=rows(batch.attention_mask, length), loss_mask=loss_mask,
      old_logprobs=rows(batch.old_logprobs, length - 1),
      ref_logprobs=rows(batch.ref_logprobs, length - 1),
      advantages=rows(batch.advantages, None), logit_positions=logit_positions,
      loss_weights=micro_weights)


def split_micro_batches(batch: RolloutBatch, *, rows: int, loss_agg: str, length_multiple: int,
                        advantage_matters: bool, policy_width: int | None = None
                        ) -> list[RolloutBatch]:
  """The micro-batches (host numpy RolloutBatches with loss_weights) whose gradients sum to the
  gradient of `batch`'s loss under `loss_agg`. Empty when no row contributes.

  rows: rows per micro-batch (the last one is topped up with zero-weight copies of its first row);
  length_multiple: a micro-batch's length is its longest row rounded up to a multiple of this
  (at most the batch's length); policy_width: the LM head's static width (the engine's per-episode
  sampling budget), used when shorter than the micro-batch.
  """
  if rows < 1 or length_multiple < 1:
    raise ValueError(f"rows and length_multiple must be >= 1, got {rows}, {length_multiple}")
  weights = loss_weights(np.asarray(batch.loss_mask), loss_agg, xp=np)
  chosen = np.flatnonzero(contributing_rows(batch, weights, advantage_matters=advantage_matters))
  attention = np.asarray(batch.attention_mask)
  T = attention.shape[1]
  out = []
  for start in range(0, len(chosen), rows):
    index = chosen[start:start + rows]
    pad = rows - len(index)
    zero_rows = np.arange(rows) >= len(index)
    index = np.concatenate([index, np.full((pad,), index[0], index.dtype)])
    used = max(int(np.flatnonzero(attention[i]).max()) + 1 for i in index)
    length = min(-(-used // length_multiple) * length_multiple, T)
    out.append(_trim(batch, index, length, policy_width, weights, zero_rows))
  return out


def combine_metrics(metrics: list[dict[str, float]]) -> dict[str, float]:
  """Per-micro-batch metrics -> the batch's: "loss" summed (each micro-batch reports its share of
  the batch's loss), "tokens" summed, every other metric a token-weighted mean (they are token
  means)."""
  if not metrics:
    return {}
  tokens = np.asarray([m.get("tokens", 0.0) for m in metrics], np.float64)
  total = tokens.sum()
  out = {"loss": float(sum(m["loss"] for m in metrics)), "tokens": float(total)}
  for key in metrics[0]:
    if key not in out:
      values = np.asarray([m[key] for m in metrics], np.float64)
      out[key] = float((values * tokens).sum() / total) if total > 0 else float(values.mean())
  return out
