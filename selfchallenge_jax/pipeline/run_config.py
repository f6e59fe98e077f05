"""A run config checked before any compute: each section is turned into the objects the phases
build from it (the same from_config constructors), so a bad value is one clear error at start-up,
not a crash after the bootstrap's minutes of SFT.

    check_run_config(config)       # RunContext calls it; ValueError naming the field
"""

from __future__ import annotations

from typing import Any

import jax
import ml_collections

from selfchallenge_jax.data.task_pipeline import TaskPipelineConfig
from selfchallenge_jax.envs import family
from selfchallenge_jax.rl.algorithms import algorithm_from_config
from selfchallenge_jax.rl.optimizer import optimizer_from_config, sft_optimizer_from_config
from selfchallenge_jax.rollout.engine_options import EngineOptions

CHALLENGE_BACKENDS = ("policy", "endpoint", "scripted")


def _positive(section: str, cfg: Any, *names: str) -> None:
  bad = [f"{section}.{n}={cfg[n]!r}" for n in names
         if isinstance(cfg[n], bool) or not isinstance(cfg[n], int) or cfg[n] < 1]
  if bad:
    raise ValueError(f"config: {', '.join(bad)}: must be integers >= 1")


def check_run_config(config: ml_collections.ConfigDict) -> None:
  """Raises ValueError (naming the config field) for what a phase would reject later."""
  families = [f for f in config.families.split(",") if f]
  unknown = [f for f in families if f not in family.names()]
  if not families or unknown:
    raise ValueError(f"config.families={config.families!r}: unknown {unknown or 'none given'}; "
                     f"known: {', '.join(family.names())}")
  _positive("sampling", config.sampling, "cache_len")
  EngineOptions.from_config(config.sampling)
  challenge = config.challenge
  if challenge.backend not in CHALLENGE_BACKENDS:
    raise ValueError(f"config.challenge.backend={challenge.backend!r}; expected one of "
                     f"{', '.join(CHALLENGE_BACKENDS)}")
  if challenge.backend == "endpoint" and not challenge.endpoint_url:
    raise ValueError("challenge.backend=endpoint needs --config.challenge.endpoint_url")
  _positive("challenge", challenge, "tasks_per_family", "max_turn_tokens", "max_episode_tokens")
  EngineOptions.from_config(config.sampling, max_turn_tokens=challenge.max_turn_tokens,
                            max_episode_tokens=challenge.max_episode_tokens)
  _positive("eval", config.eval, "tasks_per_family", "k")
  _positive("sandbox", config.sandbox, "num_workers")
  _positive("checkpoint", config.checkpoint, "every_steps", "keep")
  rl = config.rl
  _positive("rl", rl, "steps", "tasks_per_batch", "group_size")
  optimizer_from_config(rl)
  algorithm_from_config(rl)
  TaskPipelineConfig(tasks_per_batch=rl.tasks_per_batch, group_size=rl.group_size).host_rows(
      jax.process_index(), jax.process_count())
  boot = config.bootstrap
  if boot.steps or boot.copy_steps:
    sft_optimizer_from_config(boot)
    _positive("bootstrap", boot, "max_len", "batch_tokens", "length_multiple")
