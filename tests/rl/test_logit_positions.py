"""LM head on the sampled positions only: same logprobs, losses and gradients as the full head."""

import dataclasses

import jax
import numpy as np
import pytest

from selfchallenge_jax.rl.grpo import GRPOConfig, grpo_loss
from selfchallenge_jax.rl.logprobs import logit_positions_from_mask, token_logprobs
from selfchallenge_jax.rl.sft import sft_loss
from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.train.rollout_batch import make_rollout_batch
from test_grpo_model import _batch

CFG = GRPOConfig(kl_beta=0.5, loss_agg="seq_mean_token_mean", clip_eps_high=0.28)


def test_picked_positions_equal_the_full_head_and_zero_elsewhere(tiny):
  config, params = tiny
  batch = _batch()
  picked = logit_positions_from_mask(batch.loss_mask, width=8)
  full = jax.jit(token_logprobs, static_argnums=4)(params, batch.tokens, batch.positions,
                                                    batch.attention_mask, config)
  part = jax.jit(token_logprobs, static_argnums=4)(params, batch.tokens, batch.positions,
                                                    batch.attention_mask, config, picked)
  sel = batch.loss_mask > 0
  for f, p in zip(full, part):
    f, p = np.asarray(f), np.asarray(p)
    np.testing.assert_allclose(p[sel], f[sel], atol=1e-5, rtol=1e-5)
    assert np.all(p[~sel] == 0)


def test_grpo_loss_and_grads_unchanged(tiny):
  config, params = tiny
  batch = _batch()
  picked = dataclasses.replace(batch, logit_positions=logit_positions_from_mask(batch.loss_mask, 8))
  fn = jax.jit(jax.value_and_grad(grpo_loss, has_aux=True), static_argnums=(2, 3))
  (loss, metrics), grads = fn(params, batch, CFG, config)
  (loss2, metrics2), grads2 = fn(params, picked, CFG, config)
  np.testing.assert_allclose(loss2, loss, rtol=1e-5, atol=1e-7)
  for k in ("kl", "entropy", "ratio_mean"):
    np.testing.assert_allclose(metrics2[k], metrics[k], rtol=1e-5, atol=1e-7)
  for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_sft_loss_and_grads_unchanged(tiny):
  config, params = tiny
  batch = _batch()
  args = (batch.tokens, batch.positions, batch.attention_mask, batch.loss_mask, config)
  fn = jax.jit(jax.value_and_grad(sft_loss, has_aux=True), static_argnums=5)
  (loss, _), grads = fn(params, *args)
  (loss2, _), grads2 = fn(params, *args, logit_positions_from_mask(batch.loss_mask, 8))
  np.testing.assert_allclose(loss2, loss, rtol=1e-5, atol=1e-7)
  for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2)):
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_rollout_batch_carries_positions_only_below_the_budget():
  episodes = [Episode(tag=None, tokens=list(range(3, 13)), loss_mask=[0] * 6 + [1] * 4,
                      logprobs=[0.0] * 10, turns=[(6, 10)], end_reason="env_done", answer="",
                      final_state={}, actions=[])] * 2
  kw = dict(advantages=np.zeros(2), keep=np.ones(2, bool), length=16, with_old_logprobs=True)
  batch = make_rollout_batch(episodes, max_policy_tokens=6, **kw)
  assert batch.logit_positions.shape == (2, 6)
  assert batch.logit_positions[0].tolist() == [5, 6, 7, 8, -1, -1]
  assert make_rollout_batch(episodes, max_policy_tokens=15, **kw).logit_positions is None
  assert make_rollout_batch(episodes, **kw).logit_positions is None
  with pytest.raises(ValueError, match="more than the 3 logit positions"):
    make_rollout_batch(episodes, max_policy_tokens=3, **kw)
