"""Synthetic copy batches: a cheap pretraining stand-in that teaches a from-scratch model to copy.

An instruct model arrives able to copy a string from its context (induction heads, learned in
pretraining); a tiny model trained from scratch on a hundred demos does not, and every task the
miniature evaluates needs it (a hex string from the user message, a URL or a price from a page).
Each row here is made of windows of real demo tokens, each followed by a short filler and then
the window again; the loss reads only the repeats, so the only way to lower it is to look back.

    tokens, positions, mask, loss_mask = copy_batch(pool, rng, batch_size=32, length=256, bos_id=1)
"""

from __future__ import annotations

import numpy as np


def copy_batch(pool: np.ndarray, rng: np.random.Generator, *, batch_size: int, length: int,
               bos_id: int, window: tuple[int, int] = (8, 48), max_gap: int = 24
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """(tokens, positions, attention_mask, loss_mask [B, T-1]) for sft_update.

  pool: int token ids to draw windows and fillers from (the demos' tokens); a row is
  [bos, w1, filler1, w1, w2, filler2, w2, ...] up to `length`, the loss on each repeated window.
  """
  pool = np.asarray(pool)
  if len(pool) < window[1] + max_gap + 1:
    raise ValueError(f"copy_batch needs a pool of more than {window[1] + max_gap} tokens, "
                     f"got {len(pool)}")
  if length < 2 * window[1] + max_gap + 1:
    raise ValueError(f"length={length} cannot hold one window pair "
                     f"(window {window}, gap {max_gap})")
  tokens = np.zeros((batch_size, length), np.int32)
  mask = np.zeros((batch_size, length), bool)
  loss_mask = np.zeros((batch_size, length - 1), np.float32)
  for row in range(batch_size):
    ids, target = [bos_id], [0.0]
    while True:
      n = int(rng.integers(window[0], window[1] + 1))
      gap = int(rng.integers(0, max_gap + 1))
      start = int(rng.integers(0, len(pool) - n))
      filler_start = int(rng.integers(0, len(pool) - gap))
      span = pool[start:start + n].tolist()
      piece = span + pool[filler_start:filler_start + gap].tolist() + span
      if len(ids) + len(piece) > length:
        break
      ids += piece
      target += [0.0] * (n + gap) + [1.0] * n
    tokens[row, :len(ids)] = ids
    mask[row, :len(ids)] = True
    loss_mask[row, :len(ids) - 1] = target[1:]      # loss_mask[t] scores the token at t + 1
  positions = np.broadcast_to(np.arange(length, dtype=np.int32), (batch_size, length)).copy()
  return tokens, positions, mask, loss_mask
