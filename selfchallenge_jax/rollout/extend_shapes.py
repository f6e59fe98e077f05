"""The shapes the rollout engine's device programs take: row, token and cache-window buckets.

Extend programs are keyed by (row bucket, token bucket, window bucket): rows are powers of two
from min_extend_rows up to num_slots, tokens are prompt buckets, and the window (the cache
positions the extend reads and writes) is a prompt bucket of the rows' longest context, at least
a quarter of the cache, so a run compiles a bounded number of programs.

An extend of b rows x T tokens computes b * T token-rows (padding included) and reads every weight
once. On an accelerator the weight read dominates small extends: keep min_extend_rows >= 8 and
extend_overhead_tokens < 0 (every pending row in one extend). On CPU compute is b * T: use
min_extend_rows=1 and a small overhead (in token-rows), and the pending rows are split into
extends of similar lengths (a 500-token prompt no longer pads ten 60-token observations to 512).
Pure host arithmetic: no device, no state.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from selfchallenge_jax.sampling.sampler import prompt_bucket

MIN_EXTEND_ROWS = 8


@dataclasses.dataclass
class ExtendShapes:
  num_slots: int
  cache_len: int
  min_extend_rows: int = MIN_EXTEND_ROWS
  extend_overhead_tokens: int = -1

  def __post_init__(self) -> None:
    if self.min_extend_rows < 1:
      raise ValueError(f"min_extend_rows must be >= 1, got {self.min_extend_rows}")

  def row_bucket(self, n: int) -> int:
    b = self.min_extend_rows
    while b < n:
      b *= 2
    return min(b, self.num_slots)

  def window_bucket(self, context: int) -> int:
    return prompt_bucket(max(context, self.cache_len // 4), self.cache_len)

  def token_bucket(self, n: int) -> int:
    return prompt_bucket(n, self.cache_len)

  def all_row_buckets(self) -> list[int]:
    return sorted({self.row_bucket(n) for n in range(1, self.num_slots + 1)})

  def all_windows(self) -> list[int]:
    return sorted({self.window_bucket(c) for c in range(1, self.cache_len + 1)})

  def length_groups(self, lengths: Sequence[int]) -> list[list[int]]:
    """Splits rows (their pending token counts) into extends of similar length: the partition of
    the rows, sorted by length, into runs that minimises the sum over extends of
    row_bucket(rows) * token_bucket(longest) + extend_overhead_tokens. Overhead < 0: one extend."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    if self.extend_overhead_tokens < 0 or len(order) <= 1:
      return [order]
    best = [0] + [None] * len(order)              # best[j]: cost of the first j rows
    cut = [0] * (len(order) + 1)
    for j in range(1, len(order) + 1):
      T = self.token_bucket(lengths[order[j - 1]])    # the run i..j-1 is padded to its longest
      for i in range(j):
        cost = best[i] + self.row_bucket(j - i) * T + self.extend_overhead_tokens
        if best[j] is None or cost < best[j]:
          best[j], cut[j] = cost, i
    groups, j = [], len(order)
    while j > 0:
      groups.append(order[cut[j]:j])
      j = cut[j]
    return groups[::-1]
