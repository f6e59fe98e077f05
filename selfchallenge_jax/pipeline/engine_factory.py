"""Builds the rollout engine (sampler + chat format) for a phase from the run config."""

from __future__ import annotations

from typing import Any

from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.rollout.engine_options import EngineOptions
from selfchallenge_jax.sampling import Sampler

def make_engine(ctx: RunContext, params: Any, config: LlamaConfig, *, mesh: Mesh | None = None,
                **overrides: Any) -> RolloutEngine:
  """`mesh`: where the sampler runs (default the run's mesh; a host's own block when multi-host).
  `overrides`: engine arguments that differ from config.sampling for this phase."""
  options = EngineOptions.from_config(ctx.config.sampling, **overrides)
  sampler = Sampler(params, config, cache_len=ctx.config.sampling.cache_len,
                    mesh=ctx.mesh if mesh is None else mesh)
  return RolloutEngine(sampler, ctx.chat, **options.as_kwargs())
