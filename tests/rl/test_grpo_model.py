"""grpo_loss / grpo_update through a tiny Llama: masked tokens inert, policy-gradient direction."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.rl.grpo import GRPOConfig, RolloutBatch, grpo_loss, grpo_update
from selfchallenge_jax.rl.logprobs import token_logprobs

B, T = 4, 12
ADVANTAGES = np.array([1.0, -0.5, 0.7, -1.2], np.float32)


def _batch(seed: int = 0) -> RolloutBatch:
  rng = np.random.default_rng(seed)
  tokens = rng.integers(3, 64, (B, T)).astype(np.int32)
  positions = np.broadcast_to(np.arange(T, dtype=np.int32), (B, T)).copy()
  attention_mask = np.ones((B, T), bool)
  attention_mask[1, 9:] = False                # right padding
  loss_mask = np.zeros((B, T - 1), np.float32)
  loss_mask[0, 4:] = 1                         # prompt [0, 5), then policy tokens
  loss_mask[0, 7:9] = 0                        # an environment observation inside the reply
  loss_mask[1, 3:8] = 1
  loss_mask[3, 5:] = 1                         # row 2: no policy tokens at all
  # Around log(1/64) ~ -4.2, the scale of the tiny model's logprobs: ratios on both clip sides.
  old = rng.normal(-4.2, 0.5, (B, T - 1)).astype(np.float32)
  ref = rng.normal(-4.2, 0.5, (B, T - 1)).astype(np.float32)
  return RolloutBatch(tokens=tokens, positions=positions, attention_mask=attention_mask,
                      loss_mask=loss_mask, old_logprobs=old, ref_logprobs=ref,
                      advantages=ADVANTAGES)


def _logprobs(params, batch: RolloutBatch, config):
  return token_logprobs(params, batch.tokens, batch.positions, batch.attention_mask, config)[0]


# Shared jitted functions and one GRPO config, so the model's backward compiles once per module.
CFG = GRPOConfig(kl_beta=0.5, loss_agg="token_mean", clip_eps_high=0.28)
_logprobs_jit = jax.jit(_logprobs, static_argnums=2)
_value_and_grad = jax.jit(jax.value_and_grad(grpo_loss, has_aux=True), static_argnums=(2, 3))


def test_param_grads_bit_identical_when_masked_inputs_are_garbage(tiny):
  config, params = tiny
  batch = _batch()
  masked = batch.loss_mask == 0
  advantages = ADVANTAGES.copy()
  advantages[2] = np.nan                       # the sequence without policy tokens
  garbage = dataclasses.replace(batch, advantages=advantages,
                                old_logprobs=np.where(masked, -np.inf, batch.old_logprobs),
                                ref_logprobs=np.where(masked, np.nan, batch.ref_logprobs))
  (loss, metrics), grads = _value_and_grad(params, batch, CFG, config)
  (loss2, metrics2), grads2 = _value_and_grad(params, garbage, CFG, config)
  assert loss == loss2 and np.isfinite(loss)
  assert 0 < metrics["clip_frac_low"] + metrics["clip_frac_high"]
  for k in metrics:
    assert metrics[k] == metrics2[k], k
  for g, g2 in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
    np.testing.assert_array_equal(g, g2)
  assert float(optax.tree.norm(grads)) > 0


def test_on_policy_grad_is_the_policy_gradient(tiny):
  # With old = ref = current logprobs the ratio is 1 and the k3 gradient is 0, so the GRPO
  # gradient is that of the REINFORCE surrogate -token_mean(A * logp).
  config, params = tiny
  batch = _batch()
  logp = _logprobs_jit(params, batch, config)
  on_policy = dataclasses.replace(batch, old_logprobs=logp, ref_logprobs=logp)
  (_, metrics), got = _value_and_grad(params, on_policy, CFG, config)
  np.testing.assert_allclose(metrics["ratio_mean"], 1.0, rtol=1e-6)
  np.testing.assert_allclose(metrics["kl"], 0.0, atol=1e-6)

  def reinforce(p):
    w = jnp.asarray(batch.loss_mask)
    return -(_logprobs(p, batch, config) * batch.advantages[:, None] * w).sum() / w.sum()
  expected = jax.jit(jax.grad(reinforce))(params)
  for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
    np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-7)


def test_update_moves_logprobs_in_the_advantage_direction(tiny):
  config, params = tiny
  cfg = GRPOConfig(kl_beta=0.0, num_updates_per_batch=2)
  optimizer = optax.sgd(0.002)   # small enough that the second step is not fully clipped
  batch = dataclasses.replace(_batch(seed=1), ref_logprobs=None)

  step = jax.jit(lambda s, b: grpo_update(s, b, optimizer, cfg, config))
  logp = _logprobs_jit(params, batch, config)
  on_policy = dataclasses.replace(batch, old_logprobs=logp)
  state, metrics = TrainState.create(params, optimizer, jax.random.key(0)), []
  for _ in range(cfg.num_updates_per_batch):    # the same batch and old_logprobs each time
    state, m = step(state, on_policy)
    metrics.append(m)
  delta = _logprobs_jit(state.params, batch, config) - logp
  assert int(state.step) == 2
  assert float(metrics[0]["ratio_mean"]) == 1.0
  assert float(metrics[1]["ratio_mean"]) != 1.0   # off-policy w.r.t. old_logprobs on step 2
  assert float(metrics[1]["grad_norm"]) > 0
  m = batch.loss_mask > 0
  moved = [float(np.asarray(delta)[i][m[i]].mean()) for i in (0, 1, 3)]
  assert moved[0] > 0 and moved[1] < 0 and moved[2] < 0   # advantages +1.0, -0.5, -1.2


def test_grpo_loss_requires_old_logprobs_and_advantages(tiny):
  config, params = tiny
  with pytest.raises(ValueError, match="old_logprobs"):
    grpo_loss(params, dataclasses.replace(_batch(), advantages=None), GRPOConfig(), config)


def test_training_compiler_options_keep_loss_and_grads(tiny):
  """The training programs' XLA options (YNNPACK dots on CPU) change speed, not results."""
  from selfchallenge_jax.train.xla_options import CPU_YNN_DOTS, training_compiler_options
  config, params = tiny
  options = training_compiler_options()
  assert options == CPU_YNN_DOTS                       # the tests run on CPU
  fast = jax.jit(jax.value_and_grad(grpo_loss, has_aux=True), static_argnums=(2, 3),
                 compiler_options=options)
  batch = _batch(1)
  (loss, _), grads = _value_and_grad(params, batch, CFG, config)
  (loss2, _), grads2 = fast(params, batch, CFG, config)
  np.testing.assert_allclose(loss2, loss, rtol=1e-5)
  for g, g2 in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
    np.testing.assert_allclose(g2, g, rtol=1e-4, atol=1e-6)
