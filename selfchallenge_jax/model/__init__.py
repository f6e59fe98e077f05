"""The Llama model family as pure JAX functions of a params pytree."""

from selfchallenge_jax.model.config import PRESETS, LlamaConfig, RopeScaling, get_config
from selfchallenge_jax.model.kv_cache import KVCache
from selfchallenge_jax.model.llama import (abstract_params, forward, forward_cached, hidden_states,
                                           init_params, lm_head_logits, param_logical_axes,
                                           param_shapes, unstack_layers)

__all__ = ["PRESETS", "KVCache", "LlamaConfig", "RopeScaling", "abstract_params", "forward",
           "forward_cached", "get_config", "hidden_states", "init_params", "lm_head_logits",
           "param_logical_axes", "param_shapes", "unstack_layers"]
