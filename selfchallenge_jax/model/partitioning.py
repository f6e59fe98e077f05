"""Shardings of the params pytree on a mesh, derived from the rule table (sharding/rules.py)."""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import (abstract_params, abstract_sampling_params,
                                           param_logical_axes, sampling_param_logical_axes,
                                           unstack_layers)
from selfchallenge_jax.sharding.rules import SAMPLING_RULES, tree_shardings


def param_shardings(config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """NamedSharding per parameter, as the rule table gives for its logical axes and shape."""
  return tree_shardings(param_logical_axes(config), abstract_params(config), mesh)


def shard_params(params: dict[str, Any], config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """Places (or reshards) params onto `mesh` in the training layout."""
  return jax.device_put(params, param_shardings(config, mesh))


def sampling_param_shardings(config: LlamaConfig, mesh: Mesh) -> dict[str, Any]:
  """The sampling layout: layers unstacked (llama.unstack_layers), replicated over data/fsdp,
  split over tensor (SAMPLING_RULES)."""
  return tree_shardings(sampling_param_logical_axes(config), abstract_sampling_params(config), mesh,
                        SAMPLING_RULES)


def to_sampling_layout(params: dict[str, Any], config: LlamaConfig,
                       mesh: Mesh | None = None) -> dict[str, Any]:
  """Params in either layout -> sampling-layout params (on `mesh` when given: an all-gather over
  fsdp on a pod). Training-layout params are copied (left as they are); sampling-layout params
  are only placed on `mesh` (returned as they are without one)."""
  if isinstance(params["layers"], list):
    return params if mesh is None else jax.device_put(params, sampling_param_shardings(config, mesh))
  out = None if mesh is None else sampling_param_shardings(config, mesh)
  return jax.jit(unstack_layers, out_shardings=out)(params)
