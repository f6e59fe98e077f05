"""The one place that maps an algorithm name to its loss, update and what its batch must carry.

  grpo     GRPO as in DeepSeekMath: std-normalized advantages, per-sequence token means, k3 KL.
  dr_grpo  Dr.GRPO: no std normalization, no per-sequence length normalization, no KL. (The paper
           divides a token sum by a constant generation budget; the batch token mean used here
           differs from that by one scalar per batch.)
  dapo     DAPO: clip-higher (0.28), batch token mean, no KL, zero-variance groups dropped.
  rft      rejection fine-tuning: SFT (rl/sft.py) on the successful rollouts only (reward == 1),
           the paper's main method (one-step REINFORCE with a 0/1 reward).

The trainer uses an Algorithm as: prepare(rewards, G) -> keep/advantages on the host; build a
RolloutBatch of the kept rollouts with old/ref logprobs if needs_*; call update
num_updates_per_batch times on it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import jax
import numpy as np
import optax

from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.rl.advantages import GroupAdvantages, group_advantages
from selfchallenge_jax.rl.grpo import GRPOConfig, RolloutBatch, grpo_loss, grpo_update
from selfchallenge_jax.rl.sft import sft_loss, sft_update

LossFn = Callable[[Any, RolloutBatch, LlamaConfig], tuple[jax.Array, dict[str, jax.Array]]]
UpdateFn = Callable[[TrainState, RolloutBatch, optax.GradientTransformation, LlamaConfig],
                    tuple[TrainState, dict[str, jax.Array]]]
PrepareFn = Callable[[np.ndarray, int], GroupAdvantages]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Algorithm:
  name: str
  loss: LossFn                     # (params, batch, model_config) -> (loss, metrics)
  update: UpdateFn                 # (state, batch, optimizer, model_config) -> (state, metrics)
  prepare: PrepareFn               # (rewards [N], group_size) -> advantages and keep mask [N]
  needs_old_logprobs: bool
  needs_ref_logprobs: bool         # False: no reference model has to be kept in memory
  num_updates_per_batch: int
  grpo: GRPOConfig | None = None   # the resolved GRPO hyper-parameters (None for rft)

  @property
  def loss_agg(self) -> str:
    """How per-token losses aggregate over a batch (grpo.LOSS_AGGREGATIONS): rft is a token mean."""
    return self.grpo.loss_agg if self.grpo is not None else "token_mean"

  @property
  def advantage_matters(self) -> bool:
    """True when a rollout with advantage 0 contributes nothing (policy gradient, no KL term)."""
    return self.grpo is not None and self.grpo.kl_beta == 0.0


_GRPO_VARIANTS: dict[str, dict[str, Any]] = {
    "grpo": {},
    "dr_grpo": dict(normalize_std=False, kl_beta=0.0, loss_agg="token_mean"),
    "dapo": dict(clip_eps_high=0.28, kl_beta=0.0, loss_agg="token_mean", drop_zero_variance=True),
}
ALGORITHMS = (*_GRPO_VARIANTS, "rft")


def _grpo_algorithm(name: str, cfg: GRPOConfig) -> Algorithm:
  def loss(params: Any, batch: RolloutBatch, model_config: LlamaConfig):
    return grpo_loss(params, batch, cfg, model_config)

  def update(state: TrainState, batch: RolloutBatch, optimizer: optax.GradientTransformation,
             model_config: LlamaConfig):
    return grpo_update(state, batch, optimizer, cfg, model_config)

  prepare = functools.partial(_prepare_grpo, cfg=cfg)
  return Algorithm(name=name, loss=loss, update=update, prepare=prepare, needs_old_logprobs=True,
                   needs_ref_logprobs=cfg.needs_ref_logprobs,
                   num_updates_per_batch=cfg.num_updates_per_batch, grpo=cfg)


def _prepare_grpo(rewards: np.ndarray, group_size: int, *, cfg: GRPOConfig) -> GroupAdvantages:
  return group_advantages(rewards, group_size, normalize_std=cfg.normalize_std,
                          drop_zero_variance=cfg.drop_zero_variance, eps=cfg.adv_eps)


def _prepare_rft(rewards: np.ndarray, group_size: int, *, success_reward: float) -> GroupAdvantages:
  """Keep only successful rollouts; their advantage is 1 (REINFORCE with a 0/1 reward, no baseline).

  Group statistics are still computed so the same difficulty metrics get logged as for GRPO.
  """
  stats = group_advantages(rewards, group_size, normalize_std=False)
  keep = np.asarray(rewards, np.float64) >= success_reward
  return dataclasses.replace(stats, advantages=keep.astype(np.float32), keep=keep)


def _rft_loss(params: Any, batch: RolloutBatch, model_config: LlamaConfig):
  return sft_loss(params, batch.tokens, batch.positions, batch.attention_mask, batch.loss_mask,
                  model_config, batch.logit_positions, batch.loss_weights)


def _rft_update(state: TrainState, batch: RolloutBatch, optimizer: optax.GradientTransformation,
                model_config: LlamaConfig):
  return sft_update(state, (batch.tokens, batch.positions, batch.attention_mask, batch.loss_mask,
                            batch.logit_positions), optimizer, model_config)


def make_algorithm(name: str, **overrides: Any) -> Algorithm:
  """The algorithm `name` with GRPOConfig field overrides (or success_reward / num_updates_per_batch
  for rft), e.g. make_algorithm("dapo", num_updates_per_batch=2)."""
  if name == "rft":
    unknown = set(overrides) - {"success_reward", "num_updates_per_batch"}
    if unknown:
      raise ValueError(f"unknown rft option(s) {sorted(unknown)}")
    prepare = functools.partial(_prepare_rft, success_reward=overrides.get("success_reward", 1.0))
    return Algorithm(name=name, loss=_rft_loss, update=_rft_update, prepare=prepare,
                     needs_old_logprobs=False, needs_ref_logprobs=False,
                     num_updates_per_batch=overrides.get("num_updates_per_batch", 1))
  if name not in _GRPO_VARIANTS:
    raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
  cfg = GRPOConfig(**{**_GRPO_VARIANTS[name], **overrides})
  return _grpo_algorithm(name, cfg)


def algorithm_from_config(cfg: Any) -> Algorithm:
  """The algorithm a run config's `rl` section names, with the hyper-parameters it sets: the
  GRPOConfig fields for the GRPO family, success_reward / num_updates_per_batch for rft. A field
  left None (or absent) keeps the algorithm's own value."""
  if cfg["algorithm"] == "rft":
    names = ("success_reward", "num_updates_per_batch")
  else:
    names = tuple(f.name for f in dataclasses.fields(GRPOConfig))
  return make_algorithm(cfg["algorithm"], **{k: cfg[k] for k in names
                                             if k in cfg and cfg[k] is not None})
