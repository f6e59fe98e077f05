"""LlamaConfig.frozen_layers: the bottom layers and the embedding get no gradient and no update,
the top layers get exactly the full model's gradient, and the backward pass skips the bottom."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rl.optimizer import make_optimizer
from selfchallenge_jax.rl.sft import sft_loss

L = 4


def _setup(frozen: int, **overrides):
  config = get_config("tiny", num_layers=L, vocab_size=97, tie_embeddings=True,
                      frozen_layers=frozen, **overrides)
  params = init_params(config, jax.random.key(0))
  rng = np.random.default_rng(0)
  tokens = jnp.asarray(rng.integers(0, 97, (2, 12)), jnp.int32)
  positions = jnp.broadcast_to(jnp.arange(12), (2, 12))
  mask = jnp.ones((2, 12), bool)
  loss_mask = jnp.asarray(rng.integers(0, 2, (2, 11)), jnp.float32)
  return config, params, (tokens, positions, mask, loss_mask)


def _grads(config, params, batch):
  return jax.grad(lambda p: sft_loss(p, *batch, config)[0])(params)


def test_top_layers_get_the_full_gradient_and_the_rest_none():
  config_all, params, batch = _setup(0)
  config_top, _, _ = _setup(3)
  full = _grads(config_all, params, batch)
  top = _grads(config_top, params, batch)
  loss_all = sft_loss(params, *batch, config_all)[0]
  loss_top = sft_loss(params, *batch, config_top)[0]
  np.testing.assert_allclose(loss_top, loss_all, rtol=1e-6)
  assert not np.any(np.asarray(top["embed"]["embedding"]))
  for a, b in zip(jax.tree.leaves(top["layers"]), jax.tree.leaves(full["layers"])):
    assert not np.any(np.asarray(a[:3]))
  for a, b in zip(jax.tree.leaves(top["layers"]), jax.tree.leaves(full["layers"])):
    np.testing.assert_allclose(a[3:], b[3:], rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(top["final_norm"]["scale"], full["final_norm"]["scale"], rtol=1e-5)


def test_optimizer_keeps_frozen_params_exactly_even_with_weight_decay():
  config, params, batch = _setup(2)
  optimizer, _ = make_optimizer(lr=1e-2, warmup_steps=0, total_steps=10, weight_decay=0.1,
                                frozen_layers=2)
  state = optimizer.init(params)
  grads = _grads(config, params, batch)
  updates, _ = optimizer.update(grads, state, params)
  new = optax.apply_updates(params, updates)
  np.testing.assert_array_equal(new["embed"]["embedding"], params["embed"]["embedding"])
  for a, b in zip(jax.tree.leaves(new["layers"]), jax.tree.leaves(params["layers"])):
    np.testing.assert_array_equal(a[:2], b[:2])
  moved = [float(jnp.abs(a[2:] - b[2:]).max())
           for a, b in zip(jax.tree.leaves(new["layers"]), jax.tree.leaves(params["layers"]))]
  assert min(moved) > 0


def test_backward_skips_the_frozen_layers():
  """XLA's FLOP count of the gradient (layers unrolled, so every layer is counted) drops by about
  the frozen layers' backward share."""
  def flops(frozen):
    config, params, batch = _setup(frozen, unroll_layers=True, d_model=128, mlp_dim=512)
    compiled = jax.jit(lambda p: _grads(config, p, batch)).lower(params).compile()
    cost = compiled.cost_analysis()
    return (cost[0] if isinstance(cost, list) else cost)["flops"]
  full, top1 = flops(0), flops(L - 1)
  # Forward of all L layers + backward (~2x forward) of one: ~(1 + 2/L) / 3 of the full cost.
  assert top1 < 0.6 * full, (top1, full)


def test_frozen_layers_must_leave_a_layer_to_train():
  with pytest.raises(ValueError, match="frozen_layers"):
    get_config("tiny", num_layers=2, frozen_layers=2)
