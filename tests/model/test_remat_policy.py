"""The remat_policy, unroll_layers and attention_query_block fields: same numbers as the defaults."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import get_config
from selfchallenge_jax.rl.logprobs import token_logprobs

B, T = 2, 16


def _inputs(config):
  tokens = jax.random.randint(jax.random.key(1), (B, T), 0, config.vocab_size)
  positions = jnp.broadcast_to(jnp.arange(T), (B, T))
  return tokens, positions, jnp.ones((B, T), bool)


def _grad_fn(config):
  def loss(params, tokens, positions, mask):
    return token_logprobs(params, tokens, positions, mask, config)[0].sum()
  return jax.jit(jax.grad(loss))


def test_default_is_unchanged_full_remat():
  config = get_config("tiny")
  assert config.remat_policy == "nothing_saveable" and not config.unroll_layers
  assert config.layer_loop_unroll == 1


def test_unknown_policy_is_a_clear_error():
  with pytest.raises(ValueError, match="remat_policy='save_everything'"):
    get_config("tiny", remat_policy="save_everything")


def test_negative_query_block_is_a_clear_error():
  with pytest.raises(ValueError, match="attention_query_block must be >= 0"):
    get_config("tiny", attention_query_block=-1)


@pytest.fixture(scope="module")
def reference():
  base = get_config("tiny")
  params = llama.init_params(base, jax.random.key(0))
  args = _inputs(base)
  return base, params, args, _grad_fn(base)(params, *args)


@pytest.mark.parametrize("overrides", [
    dict(remat=True, remat_policy="dots_with_no_batch_dims_saveable"),
    dict(remat=True, unroll_layers=True),
    dict(unroll_layers=True),
    dict(attention_query_block=5),                       # T=16: blocks of 5, 5, 5 and 1
    dict(attention_query_block=4, remat=True),
])
def test_gradients_match_no_remat_scan(reference, overrides):
  base, params, args, want = reference
  got = _grad_fn(base.replace(**overrides))(params, *args)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), got, want)


def _compiled_flops(config):
  params = llama.abstract_params(config)
  tokens = jax.ShapeDtypeStruct((B, T), jnp.int32)
  mask = jax.ShapeDtypeStruct((B, T), bool)
  cost = _grad_fn(config).lower(params, tokens, tokens, mask).compile().cost_analysis()
  return cost["flops"]


def test_dots_policy_recomputes_less_than_full_remat():
  # Unrolled so the compiled cost counts every layer (a loop body is counted once).
  base = get_config("tiny", d_model=128, mlp_dim=512, num_layers=2, unroll_layers=True)
  plain = _compiled_flops(base)
  full = _compiled_flops(base.replace(remat=True))
  dots = _compiled_flops(base.replace(remat=True, remat_policy="dots_with_no_batch_dims_saveable"))
  assert full > 1.1 * plain                      # the whole forward runs again
  assert dots < full and dots < 1.05 * plain     # weight matmuls are kept, not recomputed
