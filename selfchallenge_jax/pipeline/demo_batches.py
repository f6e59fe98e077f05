"""SFT batches of rendered demos under a token budget, grouped by length.

Demos range from ~500 tokens (a calculation task) to ~2000 (a web episode with long pages). Random
fixed-size batches pad every row to the longest one's bucket; here each batch holds demos of one
length bucket (lengths rounded up to a multiple of `length_multiple`) and as many rows as
`batch_tokens // bucket`, so a step costs about the same whatever it holds and short demos are not
padded to long ones. Shapes stay static: one (rows, bucket) pair per bucket, hence one compile each.

    batches = DemoBatches(examples, batch_tokens=8192, length_multiple=256, max_len=2048,
                          rng=np.random.default_rng(0))
    tokens, positions, mask, loss_mask, logit_positions = batches.next()

Each epoch visits every demo once (the last batch of a bucket is topped up with random demos of
that bucket, so its shape matches), in a fresh random order of batches.
"""

from __future__ import annotations

import numpy as np

from selfchallenge_jax.rl.logprobs import logit_positions_from_mask
from selfchallenge_jax.sampling.sampler import prompt_bucket

Example = tuple[np.ndarray, np.ndarray]          # (token ids [T], role mask [T]: 1 = model-written)


class DemoBatches:

  def __init__(self, examples: list[Example], *, batch_tokens: int, length_multiple: int,
               max_len: int, rng: np.random.Generator, row_multiple: int = 1):
    """`row_multiple`: rows per batch are rounded up to it (the mesh's batch-parallel size: a row
    count it does not divide would be replicated, every device computing the whole batch)."""
    if not examples:
      raise ValueError("DemoBatches needs at least one example")
    if length_multiple < 1 or batch_tokens < 1 or row_multiple < 1:
      raise ValueError(f"length_multiple, batch_tokens and row_multiple must be >= 1, got "
                       f"{length_multiple}, {batch_tokens}, {row_multiple}")
    too_long = [len(ids) for ids, _ in examples if len(ids) > max_len]
    if too_long:
      raise ValueError(f"{len(too_long)} examples exceed max_len={max_len} (longest "
                       f"{max(too_long)}); drop them before batching")
    self.examples, self.rng = examples, rng
    # The LM head runs only where the loss reads (the assistant's tokens), at one width per run
    # (the longest demo's count, bucketed) so the step compiles once per length bucket.
    self.head_width = prompt_bucket(max(int(role[1:].sum()) for _, role in examples), max_len)
    self.buckets: dict[int, list[int]] = {}
    for i, (ids, _) in enumerate(examples):
      bucket = min(-(-len(ids) // length_multiple) * length_multiple, max_len)
      self.buckets.setdefault(bucket, []).append(i)
    self.rows = {bucket: -(-max(1, batch_tokens // bucket) // row_multiple) * row_multiple
                 for bucket in self.buckets}
    self._queue: list[tuple[int, np.ndarray]] = []
    self.epochs = 0

  def _refill(self) -> None:
    batches = []
    for bucket, members in self.buckets.items():
      order = self.rng.permutation(members)
      rows = self.rows[bucket]
      short = -len(order) % rows
      if short:
        order = np.concatenate([order, self.rng.choice(members, size=short,
                                                       replace=short > len(members))])
      batches.extend((bucket, chunk) for chunk in order.reshape(-1, rows))
    self._queue = [batches[i] for i in self.rng.permutation(len(batches))]
    self.epochs += 1

  def next(self) -> tuple[np.ndarray, ...]:
    """(tokens, positions, attention_mask, loss_mask [B, T-1], logit_positions) for sft_update."""
    if not self._queue:
      self._refill()
    bucket, indices = self._queue.pop()
    B = len(indices)
    tokens = np.zeros((B, bucket), np.int32)
    mask = np.zeros((B, bucket), bool)
    loss_mask = np.zeros((B, bucket - 1), np.float32)
    for row, i in enumerate(indices):
      ids, role = self.examples[i]
      tokens[row, :len(ids)] = ids
      mask[row, :len(ids)] = True
      loss_mask[row, :len(ids) - 1] = role[1:]          # loss_mask[t] scores the token at t + 1
    positions = np.broadcast_to(np.arange(bucket, dtype=np.int32), (B, bucket)).copy()
    width = min(self.head_width, bucket - 1)
    return tokens, positions, mask, loss_mask, logit_positions_from_mask(loss_mask, width)
