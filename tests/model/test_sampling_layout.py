"""The sampling layout: per-layer params (unstack_layers / to_sampling_layout), placed by the rules."""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from selfchallenge_jax.model import KVCache, get_config, init_params, llama
from selfchallenge_jax.model.partitioning import sampling_param_shardings, to_sampling_layout
from selfchallenge_jax.sharding import make_mesh

CONFIG = get_config("tiny-3.1", vocab_size=128, d_model=64, num_heads=4, num_kv_heads=2, mlp_dim=96)


@pytest.fixture(scope="module")
def params():
  return init_params(CONFIG, jax.random.key(0))


def test_unstack_layers_gives_each_layer_its_slice(params):
  out = llama.unstack_layers(params)
  assert isinstance(out["layers"], list) and len(out["layers"]) == CONFIG.num_layers
  for l, layer in enumerate(out["layers"]):
    jax.tree.map(lambda got, stacked: np.testing.assert_array_equal(got, stacked[l]),
                 layer, params["layers"])
  np.testing.assert_array_equal(out["embed"]["embedding"], params["embed"]["embedding"])
  assert jax.tree.map(lambda a: a.shape, out) == jax.tree.map(
      lambda a: a.shape, llama.abstract_sampling_params(CONFIG))
  with pytest.raises(ValueError, match="already in the sampling layout"):
    llama.unstack_layers(out)


def test_forward_cached_rejects_stacked_params(params):
  cache = KVCache.init(CONFIG, 1, 8)
  tokens = np.ones((1, 2), np.int32)
  with pytest.raises(ValueError, match="sampling-layout params"):
    llama.forward_cached(params, tokens, tokens, np.array([2], np.int32), cache, CONFIG)


def test_to_sampling_layout_on_a_mesh(params):
  mesh = make_mesh((1, 4, 2))                       # data, fsdp, tensor
  out = to_sampling_layout(params, CONFIG, mesh)
  want = sampling_param_shardings(CONFIG, mesh)
  jax.tree.map(lambda a, s: np.testing.assert_equal(a.sharding.is_equivalent_to(s, a.ndim), True),
               out, want)
  # Replicated over fsdp (no gather per decode step), heads split over tensor.
  assert out["layers"][0]["attn"]["q_proj"].sharding.spec == P(None, "tensor", None)
  assert out["embed"]["embedding"].sharding.spec[1] is None
  # Already in the sampling layout: only placed, values unchanged.
  again = to_sampling_layout(out, CONFIG, mesh)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), again, out)
  for l in range(CONFIG.num_layers):
    np.testing.assert_array_equal(out["layers"][l]["mlp"]["down_proj"],
                                  params["layers"]["mlp"]["down_proj"][l])
