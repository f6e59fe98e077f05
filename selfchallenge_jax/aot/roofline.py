"""Pure arithmetic for the AOT report: expected FLOPs, per-layer extrapolation, roofline times.

XLA's cost analysis counts a while-loop body once, so a program whose layers run in a loop
under-reports. The check compiles probes with 1 and 2 unrolled layers on the same mesh and
extrapolates: cost(L) = cost(1) + (L - 1) * (cost(2) - cost(1)), exact for identical layers. (The
looped program itself is no cost(1): its optimizer step and KV-cache buffers span all L layers.)
"""

from __future__ import annotations

import dataclasses

from selfchallenge_jax.aot.chips import ChipSpec
from selfchallenge_jax.model.config import LlamaConfig


def extrapolate_layers(cost_1: float, cost_2: float, num_layers: int) -> float:
  """The cost of num_layers identical layers from the costs of 1 and 2 layers."""
  if num_layers < 1:
    raise ValueError(f"num_layers must be >= 1, got {num_layers}")
  return cost_1 + (num_layers - 1) * (cost_2 - cost_1)


def _head_params(config: LlamaConfig) -> int:
  return config.d_model * config.vocab_size


def update_flops_6pt(config: LlamaConfig, batch: int, seq_len: int,
                     head_positions: int | None = None) -> float:
  """6 x matmul params x tokens + full-square attention (forward + backward) for one update.

  head_positions: the LM head runs on this many positions per row (default: all seq_len), as the
  update does when the batch carries logit_positions.
  """
  head_positions = seq_len if head_positions is None else head_positions
  head = 6.0 * _head_params(config) * (head_positions - seq_len)
  return (config.train_flops_per_token(seq_len) * seq_len + head) * batch


def forward_flops_2pt(config: LlamaConfig, batch: int, seq_len: int,
                      context_len: int | None = None, head_positions: int | None = None) -> float:
  """2 x matmul params x tokens + attention over context_len keys (default: seq_len), forward,
  with the LM head on head_positions positions per row (default: all)."""
  context_len = seq_len if context_len is None else context_len
  head_positions = seq_len if head_positions is None else head_positions
  attention = 4 * config.num_layers * config.num_heads * config.resolved_head_dim * context_len
  head = 2.0 * _head_params(config) * (head_positions - seq_len)
  return ((2.0 * config.matmul_params() + attention) * seq_len + head) * batch


def prefill_flops_2pt(config: LlamaConfig, batch: int, seq_len: int, cache_len: int) -> float:
  """A cached prefill: every layer for all tokens (attending over the whole cache buffer, as the
  static-shape cache does), the LM head for one position per row."""
  return forward_flops_2pt(config, batch, seq_len, cache_len, head_positions=1)


@dataclasses.dataclass(frozen=True)
class Roofline:
  compute_s: float             # flops / peak
  memory_s: float              # bytes / HBM bandwidth
  bound: str                   # "compute" or "memory"

  @property
  def seconds(self) -> float:
    return max(self.compute_s, self.memory_s)


def roofline(flops_per_chip: float, bytes_per_chip: float, chip: ChipSpec) -> Roofline:
  """Lower-bound step time from one chip's FLOPs and HBM bytes and its published peaks."""
  if flops_per_chip < 0 or bytes_per_chip < 0:
    raise ValueError("flops and bytes must be non-negative")
  compute = flops_per_chip / chip.peak_bf16_flops
  memory = bytes_per_chip / chip.hbm_bandwidth
  return Roofline(compute, memory, "compute" if compute >= memory else "memory")
