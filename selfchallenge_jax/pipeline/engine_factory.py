"""Builds the rollout engine (sampler + chat format) for a phase from the run config."""

from __future__ import annotations

import inspect
from typing import Any

from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler

# config.sampling: cache_len is the sampler's; every other field is a RolloutEngine argument.
ENGINE_OPTIONS = frozenset(inspect.signature(RolloutEngine).parameters) - {"sampler", "chat"}


def make_engine(ctx: RunContext, params: Any, config: LlamaConfig, *, mesh: Mesh | None = None,
                **overrides: Any) -> RolloutEngine:
  """`mesh`: where the sampler runs (default the run's mesh; a host's own block when multi-host).
  `overrides`: engine arguments that differ from config.sampling for this phase."""
  options = dict(ctx.config.sampling)
  cache_len = options.pop("cache_len")
  unknown = sorted(set(options) - ENGINE_OPTIONS)
  if unknown:
    raise ValueError(f"config.sampling sets {unknown}, which is not an engine option; known: "
                     f"cache_len, {', '.join(sorted(ENGINE_OPTIONS))}")
  sampler = Sampler(params, config, cache_len=cache_len, mesh=ctx.mesh if mesh is None else mesh)
  return RolloutEngine(sampler, ctx.chat, **{**options, **overrides})
