"""Shardings of the params pytree on a mesh, derived from the rule table (sharding/rules.py)."""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params, param_logical_axes
from selfchallenge_jax.sharding.rules import SAMPLING_RULES, tree_shardings


def param_shardings(config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """NamedSharding per parameter, as the rule table gives for its logical axes and shape."""
  return tree_shardings(param_logical_axes(config), abstract_params(config), mesh)


def shard_params(params: dict[str, Any], config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """Places (or reshards) params onto `mesh` in the training layout."""
  return jax.device_put(params, param_shardings(config, mesh))


def sampling_param_shardings(config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """The sampling layout: replicated over data/fsdp, split over tensor (SAMPLING_RULES)."""
  return tree_shardings(param_logical_axes(config), abstract_params(config), mesh, SAMPLING_RULES)


def reshard_for_sampling(params: dict[str, Any], config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """Training-layout params -> sampling-layout params (an all-gather over fsdp on a pod)."""
  return jax.device_put(params, sampling_param_shardings(config, mesh))
