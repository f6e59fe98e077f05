"""Group-normalized GRPO advantages from verifier rewards, computed on the host.

NumPy, not jnp: rewards arrive on the host from the sandboxed verifiers as Python floats, and the
keep mask decides which rollouts are packed into the next device batch (a shape decision), so a
device round trip would only add latency. float64 internally so an all-equal group is detected
exactly and the statistics do not depend on the accelerator's float32 reduction order.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class GroupAdvantages:
  advantages: np.ndarray           # float32 [N]; exactly 0 for zero-variance groups
  keep: np.ndarray                 # bool [N]; False for rollouts of dropped zero-variance groups
  group_zero_variance: np.ndarray  # bool [num_groups]; every reward of the group is equal
  group_mean: np.ndarray           # float64 [num_groups]; mean reward (pass rate for 0/1)

  @property
  def num_groups(self) -> int:
    return int(self.group_zero_variance.shape[0])

  @property
  def num_zero_variance(self) -> int:
    return int(self.group_zero_variance.sum())

  def metrics(self) -> dict[str, float]:
    """Scalars to log: how much of the batch carries a learning signal at all."""
    zero = self.group_zero_variance
    kept = self.advantages[self.keep]
    return {
        "adv/zero_variance_groups": float(zero.sum()),
        "adv/zero_variance_frac": float(zero.mean()) if zero.size else 0.0,
        # For 0/1 rewards these split "too easy" from "too hard" tasks (difficulty control).
        "adv/all_max_groups": float((zero & (self.group_mean >= 1.0)).sum()),
        "adv/all_min_groups": float((zero & (self.group_mean <= 0.0)).sum()),
        "adv/kept_rollouts": float(self.keep.sum()),
        "adv/abs_mean": float(np.abs(kept).mean()) if kept.size else 0.0,
    }


def group_advantages(rewards: np.ndarray, group_size: int, *, normalize_std: bool = True,
                     drop_zero_variance: bool = False, eps: float = 1e-6) -> GroupAdvantages:
  """A_i = r_i - mean(group), divided by (std(group) + eps) when normalize_std.

  rewards: float [num_groups * group_size], group-major (group_size consecutive rollouts per task).
  std is the sample std (ddof=1), as torch.std in TRL and verl. normalize_std=False is Dr.GRPO's
  unbiased variant. A group whose rewards are all equal has no signal; its advantages are set to
  exactly 0 (not left to rounding of r - mean) and, with drop_zero_variance (DAPO's dynamic
  sampling), its rollouts are marked keep=False so the trainer need not spend compute on them.
  """
  r = np.asarray(rewards, np.float64)
  if r.ndim != 1:
    raise ValueError(f"rewards must be 1-D [num_groups * group_size], got shape {r.shape}")
  if group_size < 1 or r.shape[0] % group_size:
    raise ValueError(f"{r.shape[0]} rewards do not split into groups of {group_size}")
  if not np.all(np.isfinite(r)):
    raise ValueError("rewards must be finite")
  groups = r.reshape(-1, group_size)
  mean = groups.mean(axis=1)
  zero_var = np.all(groups == groups[:, :1], axis=1)
  centered = groups - mean[:, None]
  if normalize_std and group_size > 1:
    # Zero-variance groups divide by 1 (they are zeroed below) so eps=0 stays warning-free.
    std = np.where(zero_var, 1.0, groups.std(axis=1, ddof=1) + eps)
    centered = centered / std[:, None]
  centered[zero_var] = 0.0
  keep = np.ones_like(groups, bool)
  if drop_zero_variance:
    keep[zero_var] = False
  return GroupAdvantages(advantages=centered.reshape(-1).astype(np.float32),
                         keep=keep.reshape(-1), group_zero_variance=zero_var, group_mean=mean)
