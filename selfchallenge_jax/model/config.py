"""Llama configurations: one frozen dataclass and the named presets."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
# jax.checkpoint_policies that are policies themselves (not factories taking names).
REMAT_POLICIES = ("nothing_saveable", "dots_saveable", "dots_with_no_batch_dims_saveable",
                  "everything_saveable")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RopeScaling:
  """Llama 3.1 frequency scaling ("rope_type": "llama3" in HF config.json)."""
  factor: float = 8.0
  low_freq_factor: float = 1.0
  high_freq_factor: float = 4.0
  original_max_position_embeddings: int = 8192


@dataclasses.dataclass(frozen=True, kw_only=True)
class LlamaConfig:
  vocab_size: int
  d_model: int
  num_layers: int
  num_heads: int
  num_kv_heads: int
  mlp_dim: int
  head_dim: int | None = None            # defaults to d_model // num_heads
  max_seq_len: int = 4096
  rope_theta: float = 10000.0
  rope_scaling: RopeScaling | None = None
  norm_eps: float = 1e-5
  tie_embeddings: bool = False
  param_dtype: str = "float32"           # storage dtype of the params pytree
  compute_dtype: str = "float32"         # dtype of activations and matmul inputs
  remat: bool = False                    # rematerialize each layer in the backward pass
  # What a rematerialized layer keeps for the backward pass: a jax.checkpoint_policies name.
  # "dots_with_no_batch_dims_saveable" keeps the weight matmul outputs (recomputes only the
  # elementwise ops and attention scores), so the update costs ~6x params FLOPs instead of ~8x.
  remat_policy: str = "nothing_saveable"
  # Unroll the training forward's layer scan. Off for training (one compiled layer body); the AOT
  # check unrolls small probes because XLA's cost analysis counts a loop body once. (The cached
  # forward of the sampler always runs its layers unrolled, over per-layer params and cache.)
  unroll_layers: bool = False
  # Causal attention of the training forward in query blocks of this many tokens, each attending
  # only to the keys up to its own end: exact (the causal mask zeroes the rest), about half the
  # attention work at long sequences, and score tiles that stay in cache. 4x faster attention
  # forward+backward on XLA:CPU at 2048 tokens with 128-token blocks. 0 = one block (the full square).
  attention_query_block: int = 0
  # Fine-tune only the top layers: the bottom `frozen_layers` layers and the embedding table (the
  # LM head too when tied) get no gradient. The training forward runs them under stop_gradient in
  # a scan of their own, so the backward pass never enters them: on a CPU, training the top 8 of
  # SmolLM2's 30 layers costs about a third of a full update (the forward of all layers remains).
  # The optimizer freezes the same parameters (rl/optimizer.freeze_bottom_layers). 0 = train all.
  frozen_layers: int = 0
  bos_id: int = 1
  eos_id: int = 2

  def __post_init__(self):
    for name in ("vocab_size", "d_model", "num_layers", "num_heads", "num_kv_heads", "mlp_dim"):
      if getattr(self, name) <= 0:
        raise ValueError(f"LlamaConfig.{name} must be positive, got {getattr(self, name)}")
    if self.num_heads % self.num_kv_heads:
      raise ValueError(f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads "
                       f"({self.num_kv_heads})")
    if self.head_dim is None and self.d_model % self.num_heads:
      raise ValueError(f"d_model ({self.d_model}) is not divisible by num_heads ({self.num_heads}); "
                       "set head_dim explicitly")
    if self.resolved_head_dim % 2:
      raise ValueError(f"head_dim must be even for RoPE, got {self.resolved_head_dim}")
    if self.attention_query_block < 0:
      raise ValueError("LlamaConfig.attention_query_block must be >= 0 (0 = one block), got "
                       f"{self.attention_query_block}")
    if not 0 <= self.frozen_layers < self.num_layers:
      raise ValueError(f"LlamaConfig.frozen_layers must be in [0, num_layers={self.num_layers}), "
                       f"got {self.frozen_layers}")
    if self.remat_policy not in REMAT_POLICIES:
      raise ValueError(f"LlamaConfig.remat_policy={self.remat_policy!r}; expected one of "
                       f"{REMAT_POLICIES}")
    for name in ("param_dtype", "compute_dtype"):
      if getattr(self, name) not in _DTYPES:
        raise ValueError(f"LlamaConfig.{name}={getattr(self, name)!r}; expected one of {list(_DTYPES)}")

  @property
  def resolved_head_dim(self) -> int:
    return self.head_dim if self.head_dim is not None else self.d_model // self.num_heads

  @property
  def remat_policy_fn(self):
    return getattr(jax.checkpoint_policies, self.remat_policy)

  @property
  def layer_loop_unroll(self) -> int:
    """The `unroll` argument of the training layer scan: all layers when unroll_layers, else 1."""
    return self.num_layers if self.unroll_layers else 1

  @property
  def params_dtype(self):
    return _DTYPES[self.param_dtype]

  @property
  def activation_dtype(self):
    return _DTYPES[self.compute_dtype]

  def replace(self, **changes: Any) -> "LlamaConfig":
    return dataclasses.replace(self, **changes)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> "LlamaConfig":
    d = dict(d)
    if d.get("rope_scaling") is not None:
      d["rope_scaling"] = RopeScaling(**d["rope_scaling"])
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
      raise ValueError(f"unknown LlamaConfig field(s) {unknown}")
    return cls(**d)

  def matmul_params(self) -> int:
    """Parameters that take part in matmuls (LM head included, embedding lookup excluded)."""
    hd = self.resolved_head_dim
    attn = self.d_model * hd * (2 * self.num_heads + 2 * self.num_kv_heads)
    mlp = 3 * self.d_model * self.mlp_dim
    return self.num_layers * (attn + mlp) + self.d_model * self.vocab_size

  def num_params(self) -> int:
    norms = (2 * self.num_layers + 1) * self.d_model
    embed = self.vocab_size * self.d_model
    return self.matmul_params() + norms + (0 if self.tie_embeddings else embed)

  def train_flops_per_token(self, seq_len: int) -> float:
    """6 x matmul params plus attention (QK^T and AV, full square, forward + backward)."""
    attention = 12 * self.num_layers * self.num_heads * self.resolved_head_dim * seq_len
    return 6.0 * self.matmul_params() + attention


_LLAMA3_VOCAB = 128256
_LLAMA3_IDS = dict(bos_id=128000, eos_id=128001)
_LLAMA31_ROPE = dict(rope_theta=500000.0, rope_scaling=RopeScaling(), max_seq_len=131072)

PRESETS: dict[str, LlamaConfig] = {
    "llama2-7b": LlamaConfig(vocab_size=32000, d_model=4096, num_layers=32, num_heads=32,
                             num_kv_heads=32, mlp_dim=11008, max_seq_len=4096, norm_eps=1e-5),
    "llama3-8b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=4096, num_layers=32, num_heads=32,
                             num_kv_heads=8, mlp_dim=14336, rope_theta=500000.0, max_seq_len=8192,
                             **_LLAMA3_IDS),
    "llama3.1-8b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=4096, num_layers=32, num_heads=32,
                               num_kv_heads=8, mlp_dim=14336, **_LLAMA31_ROPE, **_LLAMA3_IDS),
    "llama3.1-70b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=8192, num_layers=80,
                                num_heads=64, num_kv_heads=8, mlp_dim=28672, **_LLAMA31_ROPE,
                                **_LLAMA3_IDS),
    "llama3.1-405b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=16384, num_layers=126,
                                 num_heads=128, num_kv_heads=8, mlp_dim=53248, **_LLAMA31_ROPE,
                                 **_LLAMA3_IDS),
    "llama3.2-1b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=2048, num_layers=16, num_heads=32,
                               num_kv_heads=8, mlp_dim=8192, head_dim=64, tie_embeddings=True,
                               rope_theta=500000.0, max_seq_len=131072,
                               rope_scaling=RopeScaling(factor=32.0), **_LLAMA3_IDS),
    "llama3.2-3b": LlamaConfig(vocab_size=_LLAMA3_VOCAB, d_model=3072, num_layers=28, num_heads=24,
                               num_kv_heads=8, mlp_dim=8192, head_dim=128, tie_embeddings=True,
                               rope_theta=500000.0, max_seq_len=131072,
                               rope_scaling=RopeScaling(factor=32.0), **_LLAMA3_IDS),
    # Tiny sizes for tests and the CPU default.
    "tiny": LlamaConfig(vocab_size=256, d_model=64, num_layers=2, num_heads=4, num_kv_heads=2,
                        mlp_dim=128, max_seq_len=512, rope_theta=10000.0),
    "tiny-3.1": LlamaConfig(vocab_size=256, d_model=64, num_layers=2, num_heads=4, num_kv_heads=2,
                            mlp_dim=128, max_seq_len=512, rope_theta=500000.0,
                            rope_scaling=RopeScaling(factor=8.0, original_max_position_embeddings=64)),
    # The benchmark model the issues name ("bench-56M"), a CPU model: 64-token query blocks make
    # its 256-token training step 1.19x faster (benchmarks/RESULTS.md).
    "bench-56m": LlamaConfig(vocab_size=32000, d_model=512, num_layers=8, num_heads=8,
                             num_kv_heads=4, mlp_dim=1408, max_seq_len=2048,
                             attention_query_block=64),
}


def get_config(name: str, **overrides: Any) -> LlamaConfig:
  """Returns the preset `name` with `overrides` applied (e.g. param_dtype="bfloat16")."""
  if name not in PRESETS:
    raise ValueError(f"unknown model preset {name!r}; known: {', '.join(sorted(PRESETS))}")
  return PRESETS[name].replace(**overrides)
