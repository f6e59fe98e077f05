"""Algorithm registry: variant hyper-parameters, batch requirements, host prep, loss dispatch."""

import jax
import numpy as np
import pytest

from selfchallenge_jax.rl.algorithms import ALGORITHMS, make_algorithm
from selfchallenge_jax.rl.grpo import GRPOConfig, RolloutBatch, grpo_loss
from selfchallenge_jax.rl.sft import sft_loss

REWARDS = np.array([1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0], np.float32)


def test_registry_names():
  assert set(ALGORITHMS) == {"grpo", "dr_grpo", "dapo", "rft"}
  with pytest.raises(ValueError, match="unknown algorithm"):
    make_algorithm("ppo")


def test_grpo_variants_resolve_to_their_papers_settings():
  grpo, dr, dapo = (make_algorithm(n).grpo for n in ("grpo", "dr_grpo", "dapo"))
  assert grpo == GRPOConfig()
  assert grpo.normalize_std and grpo.kl_beta > 0 and grpo.loss_agg == "seq_mean_token_mean"
  assert not dr.normalize_std and dr.kl_beta == 0 and dr.loss_agg == "token_mean"
  assert (dapo.clip_eps_low, dapo.clip_eps_high) == (0.2, 0.28)
  assert dapo.drop_zero_variance and dapo.kl_beta == 0 and dapo.loss_agg == "token_mean"


def test_batch_requirements():
  assert make_algorithm("grpo").needs_ref_logprobs
  assert not make_algorithm("grpo", kl_beta=0.0).needs_ref_logprobs
  assert not make_algorithm("dapo").needs_ref_logprobs
  assert make_algorithm("dapo").needs_old_logprobs
  rft = make_algorithm("rft")
  assert not rft.needs_old_logprobs and not rft.needs_ref_logprobs and rft.grpo is None


def test_overrides_apply_and_unknown_ones_raise():
  alg = make_algorithm("dapo", num_updates_per_batch=4, clip_eps_high=0.3)
  assert alg.num_updates_per_batch == 4 and alg.grpo.clip_eps_high == 0.3
  assert make_algorithm("rft", num_updates_per_batch=2).num_updates_per_batch == 2
  with pytest.raises(ValueError):
    make_algorithm("rft", kl_beta=0.1)
  with pytest.raises(TypeError):
    make_algorithm("grpo", group_size=8)


def test_prepare_uses_each_variants_advantage_rule():
  dapo = make_algorithm("dapo").prepare(REWARDS, 4)
  assert dapo.keep.tolist() == [True] * 4 + [False] * 8              # dynamic sampling
  a = 0.5 / (np.sqrt(1 / 3) + 1e-6)                  # std-normalized, sample std
  np.testing.assert_allclose(dapo.advantages[:4], [a, -a, -a, a], rtol=1e-6)
  dr = make_algorithm("dr_grpo").prepare(REWARDS, 4)
  np.testing.assert_array_equal(dr.advantages, [0.5, -0.5, -0.5, 0.5] + [0.0] * 8)
  assert dr.keep.all()


def test_rft_keeps_only_successful_rollouts():
  out = make_algorithm("rft").prepare(REWARDS, 4)
  np.testing.assert_array_equal(out.keep, REWARDS == 1)
  np.testing.assert_array_equal(out.advantages, (REWARDS == 1).astype(np.float32))
  assert out.num_zero_variance == 2                    # difficulty stats still reported
  partial = make_algorithm("rft", success_reward=0.5).prepare(np.array([0.4, 0.6]), 2)
  assert partial.keep.tolist() == [False, True]


def test_loss_dispatches_to_grpo_and_sft(tiny):
  config, params = tiny
  rng = np.random.default_rng(0)
  tokens = rng.integers(0, 64, (2, 8)).astype(np.int32)
  positions = np.broadcast_to(np.arange(8, dtype=np.int32), (2, 8)).copy()
  mask = np.ones((2, 8), bool)
  loss_mask = np.zeros((2, 7), np.float32)
  loss_mask[:, 3:] = 1
  old = rng.normal(-4.2, 0.5, (2, 7)).astype(np.float32)
  batch = RolloutBatch(tokens=tokens, positions=positions, attention_mask=mask,
                       loss_mask=loss_mask, old_logprobs=old, ref_logprobs=old,
                       advantages=np.array([1.0, -1.0], np.float32))
  dapo, grpo = make_algorithm("dapo"), make_algorithm("grpo")

  @jax.jit
  def losses(params):    # one compile: XLA shares the identical forward passes
    return (make_algorithm("rft").loss(params, batch, config)[0],
            sft_loss(params, tokens, positions, mask, loss_mask, config)[0],
            dapo.loss(params, batch, config)[0],
            grpo_loss(params, batch, dapo.grpo, config)[0],
            grpo.loss(params, batch, config)[0])
  rft, sft, dapo_loss, expected, grpo_value = map(float, losses(params))
  assert rft == sft
  assert dapo_loss == expected
  assert abs(grpo_value - dapo_loss) > 1e-4        # the variant's own config is what was used


def test_run_config_reaches_every_grpo_field_and_none_keeps_the_variants_own():
  import dataclasses

  from configs import tiny_cpu
  from selfchallenge_jax.rl.algorithms import algorithm_from_config
  rl = tiny_cpu.get_config().rl
  assert {f.name for f in dataclasses.fields(GRPOConfig)} <= set(rl)   # none silently dropped
  rl.adv_eps = 0.25
  assert algorithm_from_config(rl).grpo.adv_eps == 0.25
  rl.algorithm = "dapo"                            # unset fields: DAPO's own (dynamic sampling)
  assert algorithm_from_config(rl).grpo.drop_zero_variance
  rl.drop_zero_variance = False
  assert not algorithm_from_config(rl).grpo.drop_zero_variance
  rl.algorithm, rl.num_updates_per_batch = "rft", 3     # GRPO-only fields do not reach rft
  assert algorithm_from_config(rl).num_updates_per_batch == 3
