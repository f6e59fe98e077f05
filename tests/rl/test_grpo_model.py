"""grpo_loss / grpo_update through the tiny Llama: masked tokens inert, policy-gradient direction."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rl.grpo import GRPOConfig, RolloutBatch, grpo_loss, grpo_update
from selfchallenge_jax.rl.logprobs import token_logprobs

CONFIG = get_config("tiny", vocab_size=64, num_layers=1, max_seq_len=64)
B, T = 4, 12


@pytest.fixture(scope="module")
def params():
  return jax.jit(init_params, static_argnums=(0, 2))(CONFIG, jax.random.key(0), 0.2)


def _batch(params, seed: int = 0) -> RolloutBatch:
  rng = np.random.default_rng(seed)
  tokens = rng.integers(3, CONFIG.vocab_size, (B, T)).astype(np.int32)
  positions = np.broadcast_to(np.arange(T, dtype=np.int32), (B, T)).copy()
  attention_mask = np.ones((B, T), bool)
  attention_mask[1, 9:] = False                # right padding
  loss_mask = np.zeros((B, T - 1), np.float32)
  loss_mask[0, 4:] = 1                         # prompt [0, 5), then policy tokens
  loss_mask[0, 7:9] = 0                        # an environment observation inside the reply
  loss_mask[1, 3:8] = 1
  loss_mask[3, 5:] = 1                         # row 2: no policy tokens at all
  logp, _ = _logprobs(params, tokens, positions, attention_mask, CONFIG)
  logp = np.asarray(logp)
  old = logp + rng.uniform(-0.4, 0.4, logp.shape).astype(np.float32)
  ref = logp + rng.normal(0, 0.3, logp.shape).astype(np.float32)
  adv = np.array([1.0, -0.5, 0.7, -1.2], np.float32)
  return RolloutBatch(tokens=tokens, positions=positions, attention_mask=attention_mask,
                      loss_mask=loss_mask, old_logprobs=old, ref_logprobs=ref, advantages=adv)


# Jitted once per module: eager dispatch of the model is what makes these tests slow.
_logprobs = jax.jit(token_logprobs, static_argnums=4)
# One GRPO config per aggregation mode, shared by the tests so each compiles once.
CFGS = {agg: GRPOConfig(kl_beta=0.05, loss_agg=agg, clip_eps_high=0.28)
        for agg in ("token_mean", "seq_mean_token_mean")}
_value_and_grad = jax.jit(jax.value_and_grad(grpo_loss, has_aux=True), static_argnums=(2, 3))


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean"])
def test_param_grads_bit_identical_when_masked_inputs_are_garbage(params, loss_agg):
  cfg = CFGS[loss_agg]
  batch = _batch(params)
  masked = batch.loss_mask == 0
  garbage = RolloutBatch(
      tokens=batch.tokens, positions=batch.positions, attention_mask=batch.attention_mask,
      loss_mask=batch.loss_mask,
      old_logprobs=np.where(masked, np.inf, batch.old_logprobs),
      ref_logprobs=np.where(masked, np.nan, batch.ref_logprobs),
      advantages=batch.advantages.copy())
  garbage.advantages[2] = np.nan               # the sequence without policy tokens
  (loss, _), grads = _value_and_grad(params, batch, cfg, CONFIG)
  (loss2, metrics2), grads2 = _value_and_grad(params, garbage, cfg, CONFIG)
  assert loss == loss2 and np.isfinite(loss)
  assert all(np.isfinite(v) for v in jax.tree.leaves(metrics2))
  for g, g2 in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
    np.testing.assert_array_equal(g, g2)
  assert float(optax.tree.norm(grads)) > 0


def test_on_policy_grad_is_the_policy_gradient(params):
  # With old = current logprobs the ratio is 1 and the k3 gradient is 0, so the GRPO gradient is
  # that of the REINFORCE surrogate -token_mean(A * logp).
  batch = _batch(params)
  logp, _ = _logprobs(params, batch.tokens, batch.positions, batch.attention_mask, CONFIG)
  on_policy = dataclasses.replace(batch, old_logprobs=logp, ref_logprobs=logp)
  cfg = CFGS["token_mean"]
  (_, metrics), grads = _value_and_grad(params, on_policy, cfg, CONFIG)
  np.testing.assert_allclose(metrics["ratio_mean"], 1.0, rtol=1e-6)

  def reinforce(p):
    lp, _ = token_logprobs(p, batch.tokens, batch.positions, batch.attention_mask, CONFIG)
    w = jnp.asarray(batch.loss_mask)
    return -(lp * batch.advantages[:, None] * w).sum() / w.sum()
  expected = jax.jit(jax.grad(reinforce))(params)
  for g, e in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
    np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-7)


def test_update_moves_logprobs_in_the_advantage_direction(params):
  batch = _batch(params, seed=1)
  logp, _ = _logprobs(params, batch.tokens, batch.positions, batch.attention_mask, CONFIG)
  batch = dataclasses.replace(batch, old_logprobs=logp, ref_logprobs=None)
  cfg = GRPOConfig(kl_beta=0.0, num_updates_per_batch=2)
  optimizer = optax.sgd(0.002)   # small enough that step 2 is not fully clipped
  state = TrainState.create(params, optimizer, jax.random.key(0))
  step = jax.jit(lambda s, b: grpo_update(s, b, optimizer, cfg, CONFIG))
  for _ in range(cfg.num_updates_per_batch):      # the same batch and old_logprobs each time
    state, metrics = step(state, batch)
  assert int(state.step) == 2 and float(metrics["grad_norm"]) > 0
  assert float(metrics["ratio_mean"]) != 1.0      # second step is off-policy w.r.t. old_logprobs
  new, _ = _logprobs(state.params, batch.tokens, batch.positions, batch.attention_mask,
                          CONFIG)
  m = batch.loss_mask > 0
  delta = [float((np.asarray(new - logp)[i][m[i]]).mean()) for i in (0, 1, 3)]
  assert delta[0] > 0 and delta[1] < 0 and delta[2] < 0   # advantages +1.0, -0.5, -1.2


def test_grpo_loss_requires_old_logprobs_and_advantages(params):
  batch = _batch(params)
  with pytest.raises(ValueError, match="old_logprobs"):
    grpo_loss(params, dataclasses.replace(batch, advantages=None),
              GRPOConfig(kl_beta=0.0), CONFIG)
