"""Builds the rollout engine (sampler + chat format) for a phase from the run config."""

from __future__ import annotations

from typing import Any

from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler


def make_engine(ctx: RunContext, params: Any, config: LlamaConfig, *, mesh: Mesh | None = None,
                **overrides: Any) -> RolloutEngine:
  """`mesh`: where the sampler runs (default the run's mesh; a host's own block when multi-host)."""
  s = ctx.config.sampling
  sampler = Sampler(params, config, cache_len=s.cache_len, mesh=ctx.mesh if mesh is None else mesh)
  kwargs = dict(num_slots=s.num_slots, max_turns=s.max_turns, max_turn_tokens=s.max_turn_tokens,
                max_episode_tokens=s.max_episode_tokens, chunk_steps=s.chunk_steps,
                temperature=s.temperature, top_p=s.top_p, min_extend_rows=s.min_extend_rows,
                extend_overhead_tokens=s.extend_overhead_tokens, compact_decode=s.compact_decode)
  kwargs.update(overrides)
  return RolloutEngine(sampler, ctx.chat, **kwargs)
