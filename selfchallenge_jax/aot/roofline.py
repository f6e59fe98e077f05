"""Pure arithmetic for the AOT report: expected FLOPs, per-layer extrapolation, roofline times.

XLA's cost analysis counts a while-loop body once, so a program whose layers run in a loop
reports the cost of one layer: cost(1). The check also compiles a probe with 2 unrolled layers on
the same mesh and extrapolates: cost(L) = cost(1) + (L - 1) * (cost(2) - cost(1)), exact for
identical layers.
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


def update_flops_6pt(config: LlamaConfig, batch: int, seq_len: int) -> float:
  """6 x matmul params x tokens + full-square attention (forward + backward) for one update."""
  return config.train_flops_per_token(seq_len) * batch * seq_len


def forward_flops_2pt(config: LlamaConfig, batch: int, seq_len: int,
                      context_len: int | None = None) -> float:
  """2 x matmul params x tokens + attention over context_len keys (default: seq_len), forward.

  The LM head is counted for every token; a prefill that takes logits at one position per row
  does less (see prefill_flops_2pt).
  """
  context_len = seq_len if context_len is None else context_len
  attention = 4 * config.num_layers * config.num_heads * config.resolved_head_dim * context_len
  return (2.0 * config.matmul_params() + attention) * batch * seq_len


def prefill_flops_2pt(config: LlamaConfig, batch: int, seq_len: int, cache_len: int) -> float:
  """A cached prefill: every layer for all tokens (attending over the whole cache buffer, as the
  static-shape cache does), the LM head for one position per row."""
  head = 2.0 * config.d_model * config.vocab_size
  layers = forward_flops_2pt(config, batch, seq_len, cache_len) - head * batch * seq_len
  return layers + head * batch


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
