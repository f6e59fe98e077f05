"""The rollout engine's options (a run config's `sampling` section), validated when built.

    options = EngineOptions.from_config(config.sampling, max_turn_tokens=512)   # before compute
    engine = RolloutEngine(sampler, chat, **options.as_kwargs())

Every field is a RolloutEngine argument; `sampling.cache_len` is the sampler's.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from selfchallenge_jax.rollout.extend_shapes import MIN_EXTEND_ROWS

SAMPLER_FIELDS = ("cache_len",)      # config.sampling fields that are the sampler's, not ours


@dataclasses.dataclass(frozen=True, kw_only=True)
class EngineOptions:
  num_slots: int
  max_turns: int = 8
  max_turn_tokens: int = 256
  max_episode_tokens: int = 1024
  chunk_steps: int = 16
  temperature: float = 1.0
  top_p: float = 1.0
  env_threads: int = 16
  overlap: bool = True
  min_extend_rows: int = MIN_EXTEND_ROWS
  extend_overhead_tokens: int = -1
  compact_decode: bool = False

  def __post_init__(self) -> None:
    at_least_one = ("num_slots", "max_turns", "max_turn_tokens", "max_episode_tokens",
                    "chunk_steps", "env_threads", "min_extend_rows")
    bad = [f"{name}={getattr(self, name)!r}" for name in at_least_one
           if not isinstance(getattr(self, name), int) or getattr(self, name) < 1]
    if bad:
      raise ValueError(f"sampling options must be integers >= 1: {', '.join(bad)}")
    if not self.temperature >= 0:
      raise ValueError(f"sampling temperature must be >= 0, got {self.temperature!r}")
    if not 0 < self.top_p <= 1:
      raise ValueError(f"sampling top_p must be in (0, 1], got {self.top_p!r}")

  @classmethod
  def from_config(cls, sampling: Mapping[str, Any], **overrides: Any) -> "EngineOptions":
    """From a run config's `sampling` section (cache_len aside) and a phase's overrides; an
    unknown field is an error naming the known ones."""
    options = {k: v for k, v in dict(sampling).items() if k not in SAMPLER_FIELDS}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
      raise ValueError(f"config.sampling sets {unknown}, which is not an engine option; known: "
                       f"{', '.join(SAMPLER_FIELDS + tuple(sorted(known)))}")
    return cls(**{**options, **overrides})

  def as_kwargs(self) -> dict[str, Any]:
    return dataclasses.asdict(self)
