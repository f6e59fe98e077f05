"""grpo_token_loss and its gradient against a float64 NumPy reference; masked tokens are inert."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from selfchallenge_jax.rl.grpo import GRPOConfig, grpo_token_loss

B, T1 = 6, 11   # T1 = T - 1 per-token positions


def _inputs(seed: int = 0):
  rng = np.random.default_rng(seed)
  logp = -rng.uniform(0.05, 3.0, (B, T1))
  # |log ratio| up to 0.6: ratios from ~0.55 to ~1.8, i.e. on both sides of [0.8, 1.28].
  old = logp - rng.uniform(-0.6, 0.6, (B, T1))
  ref = logp + rng.normal(0.0, 0.4, (B, T1))
  adv = rng.normal(0.0, 1.0, B)
  adv[:2] = [1.3, -0.9]                       # both signs present whatever the seed
  mask = (rng.uniform(size=(B, T1)) < 0.7).astype(np.float64)
  mask[2] = 0.0                               # a sequence with no policy tokens
  mask[3] = 0.0
  mask[3, 4] = 1.0                            # a sequence with one policy token
  return logp, old, ref, adv, mask


def _reference(logp, old, ref, adv, mask, cfg: GRPOConfig, use_ref: bool):
  """float64 loss and analytic d loss / d logp."""
  m = mask > 0
  a = np.broadcast_to(adv[:, None], logp.shape)
  ratio = np.exp(logp - old)
  clipped = np.clip(ratio, 1 - cfg.clip_eps_low, 1 + cfg.clip_eps_high)
  per_token = -np.minimum(ratio * a, clipped * a)
  # Where the unclipped term is the min (always so inside the clip range) d/dlogp = -A * ratio;
  # where the clipped constant wins the token has no gradient.
  grad_token = np.where(ratio * a <= clipped * a, -a * ratio, 0.0)
  beta = cfg.kl_beta if use_ref else 0.0
  per_token = per_token + beta * (np.exp(ref - logp) - (ref - logp) - 1)
  grad_token = grad_token + beta * (1 - np.exp(ref - logp))
  if cfg.loss_agg == "token_mean":
    w = np.where(m, 1.0 / m.sum(), 0.0)
  else:
    n = m.sum(axis=1, keepdims=True)
    seqs = (n > 0).sum()
    w = np.where(m, 1.0 / (np.maximum(n, 1) * seqs), 0.0)
  return float((per_token * w).sum()), grad_token * w


# Jitted (one small compile per config) rather than eager: op-by-op dispatch is the slower path.
_value_and_grad = jax.jit(jax.value_and_grad(grpo_token_loss, has_aux=True), static_argnums=5)


def _jax_loss(logp, old, ref, adv, mask, cfg, use_ref):
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  (loss, metrics), grad = _value_and_grad(f32(logp), f32(old), f32(ref) if use_ref else None,
                                          f32(adv), f32(mask), cfg)
  return float(loss), np.asarray(grad), metrics


def test_inputs_exercise_every_clip_case():
  logp, old, _, adv, mask = _inputs()
  r, a, m = np.exp(logp - old), adv[:, None], mask > 0
  low, high = r < 0.8, r > 1.28
  for case in (low & (a < 0), low & (a > 0), high & (a > 0), high & (a < 0), ~low & ~high):
    assert (case & m).sum() >= 2


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean"])
@pytest.mark.parametrize("use_ref", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_and_grad_match_float64_reference(loss_agg, use_ref, seed):
  cfg = GRPOConfig(clip_eps_low=0.2, clip_eps_high=0.28, kl_beta=0.1 if use_ref else 0.0,
                   loss_agg=loss_agg)
  inputs = _inputs(seed)
  ref_loss, ref_grad = _reference(*inputs, cfg, use_ref)
  loss, grad, _ = _jax_loss(*inputs, cfg, use_ref)
  np.testing.assert_allclose(loss, ref_loss, rtol=2e-6, atol=1e-7)
  np.testing.assert_allclose(grad, ref_grad, rtol=2e-6, atol=1e-8)
  assert np.all(grad[inputs[4] == 0] == 0.0)


def test_aggregation_modes_differ_and_weight_sequences_as_documented():
  inputs = _inputs()
  tok, _, _ = _jax_loss(*inputs, GRPOConfig(loss_agg="token_mean", kl_beta=0.0), False)
  seq, _, _ = _jax_loss(*inputs, GRPOConfig(loss_agg="seq_mean_token_mean", kl_beta=0.0), False)
  assert abs(tok - seq) > 1e-3   # the one-token sequence weighs far more in the sequence mean


def test_metrics_match_reference():
  cfg = GRPOConfig(clip_eps_low=0.2, clip_eps_high=0.28, kl_beta=0.05)
  logp, old, ref, adv, mask = _inputs(3)
  entropy = np.random.default_rng(9).uniform(0, 4, logp.shape)
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  _, metrics = grpo_token_loss(f32(logp), f32(old), f32(ref), f32(adv), f32(mask), cfg,
                               entropy=f32(entropy))
  m = mask > 0
  r, a = np.exp(logp - old)[m], np.broadcast_to(adv[:, None], logp.shape)[m]
  d = (ref - logp)[m]
  np.testing.assert_allclose(metrics["ratio_mean"], r.mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["clip_frac_low"], ((r < 0.8) & (a < 0)).mean(), rtol=1e-6)
  np.testing.assert_allclose(metrics["clip_frac_high"], ((r > 1.28) & (a > 0)).mean(), rtol=1e-6)
  np.testing.assert_allclose(metrics["kl"], (np.exp(d) - d - 1).mean(), rtol=1e-5)
  np.testing.assert_allclose(metrics["entropy"], entropy[m].mean(), rtol=1e-5)
  assert metrics["tokens"] == m.sum()
  assert metrics["clip_frac_low"] > 0 and metrics["clip_frac_high"] > 0


def test_asymmetric_clip_high_only_changes_positive_advantage_tokens():
  # ratio 1.25 > 1 + 0.2 but < 1 + 0.28: clipped (no gradient) with symmetric eps only.
  logp, old = jnp.log(jnp.array([[1.25, 1.25]])), jnp.zeros((1, 2))
  mask = jnp.ones((1, 2))
  for adv, sym_grad_zero in ((1.0, True), (-1.0, False)):
    grads = {}
    for eps_high in (0.2, 0.28):
      cfg = GRPOConfig(clip_eps_low=0.2, clip_eps_high=eps_high, kl_beta=0.0)
      grads[eps_high] = _value_and_grad(logp, old, None, jnp.array([adv]), mask, cfg)[1]
    np.testing.assert_allclose(grads[0.28], -adv * 1.25 / 2, rtol=1e-6)
    assert np.all(grads[0.2] == 0.0) == sym_grad_zero


def test_kl_ignored_when_beta_zero_and_required_when_positive():
  logp, old, ref, adv, mask = _inputs()
  cfg = GRPOConfig(kl_beta=0.0)
  with_ref = _jax_loss(logp, old, ref, adv, mask, cfg, True)
  without = _jax_loss(logp, old, ref, adv, mask, cfg, False)
  assert with_ref[0] == without[0]
  np.testing.assert_array_equal(with_ref[1], without[1])
  assert "kl" in with_ref[2] and "kl" not in without[2]
  with pytest.raises(ValueError, match="ref_logprobs"):
    _jax_loss(logp, old, ref, adv, mask, GRPOConfig(kl_beta=0.1), False)


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean"])
def test_masked_tokens_are_inert_even_when_nonfinite(loss_agg):
  cfg = GRPOConfig(kl_beta=0.1, loss_agg=loss_agg, clip_eps_high=0.28)
  logp, old, ref, adv, mask = _inputs()
  bad = [x.copy() for x in (logp, old, ref)]
  m = mask == 0
  bad[0][m] = np.nan
  bad[1][m] = np.where(np.arange(m.sum()) % 2, np.inf, -np.inf)
  bad[2][m] = np.nan
  bad_adv = adv.copy()
  bad_adv[2] = np.nan                          # sequence 2 has no policy tokens
  clean = _jax_loss(logp, old, ref, adv, mask, cfg, True)
  dirty = _jax_loss(bad[0], bad[1], bad[2], bad_adv, mask, cfg, True)
  assert clean[0] == dirty[0]
  np.testing.assert_array_equal(clean[1], dirty[1])
  assert np.all(dirty[1][m] == 0.0) and np.all(np.isfinite(dirty[1]))
  for k in clean[2]:
    assert np.isfinite(dirty[2][k]) and clean[2][k] == dirty[2][k]


def test_all_masked_batch_gives_zero_loss_and_grad():
  logp, old, ref, adv, _ = _inputs()
  loss, grad, metrics = _jax_loss(logp, old, ref, adv, np.zeros_like(logp),
                                  GRPOConfig(kl_beta=0.1), True)
  assert loss == 0.0 and np.all(grad == 0.0) and float(metrics["tokens"]) == 0.0


@pytest.mark.parametrize("kwargs", [dict(loss_agg="sum"), dict(clip_eps_low=1.0),
                                    dict(kl_beta=-0.1), dict(num_updates_per_batch=0)])
def test_config_validation(kwargs):
  with pytest.raises(ValueError):
    GRPOConfig(**kwargs)


@pytest.mark.parametrize("loss_agg", ["token_mean", "seq_mean_token_mean"])
def test_uniformly_scaled_weights_leave_the_loss_unchanged(loss_agg):
  # Normalizers are the total weight, not clamped up to 1: halving every weight changes nothing
  # (the one-token sequence has total weight 0.5 here).
  cfg = GRPOConfig(kl_beta=0.1, loss_agg=loss_agg)
  logp, old, ref, adv, mask = _inputs()
  full, grad_full, _ = _jax_loss(logp, old, ref, adv, mask, cfg, True)
  half, grad_half, _ = _jax_loss(logp, old, ref, adv, 0.5 * mask, cfg, True)
  np.testing.assert_allclose(half, full, rtol=1e-6)
  np.testing.assert_allclose(grad_half, grad_full, rtol=1e-6, atol=1e-9)
