"""A tiny Llama for update tests, params drawn with NumPy (no jax.random compiles)."""

import jax
import numpy as np

from selfchallenge_jax.model import abstract_params, get_config


def tiny_llama(num_layers: int):
  """(config, params): vocab 64, normal(0.2) weights (not near uniform), unit norms."""
  config = get_config("tiny", vocab_size=64, num_layers=num_layers, max_seq_len=64)
  rng = np.random.default_rng(0)

  def init(path, leaf):
    if "norm" in jax.tree_util.keystr(path):
      return np.ones(leaf.shape, np.float32)
    return (0.2 * rng.normal(size=leaf.shape)).astype(np.float32)
  return config, jax.tree_util.tree_map_with_path(init, abstract_params(config))
