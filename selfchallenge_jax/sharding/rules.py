"""The one logical-axis rule table: logical array axes -> mesh axes, for params and activations.

Params and activations name their axes logically (model/llama.py, sampling); this table is the only
place that decides how they map onto the (data, fsdp, tensor) mesh. A dimension whose size the
mesh axes do not divide is replicated instead (e.g. 8 KV heads on a 16-way tensor axis).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

LogicalAxes = tuple[str | None, ...]

# logical name -> mesh axis, tuple of mesh axes, or None (replicated).
RULES: dict[str, str | tuple[str, ...] | None] = {
    # parameters
    "vocab": "tensor",
    "embed": "fsdp",
    "heads": "tensor",
    "kv_heads": "tensor",
    "head_dim": None,
    "mlp": "tensor",
    "layers": None,
    "norm": None,
    # activations
    "batch": ("data", "fsdp"),
    "seq": None,
    "act_embed": None,
    "act_heads": "tensor",
    "act_kv_heads": "tensor",
    "act_mlp": "tensor",
    "act_vocab": "tensor",
    "cache_seq": None,
}


def _axis_size(mesh_shape: dict[str, int], axes: str | tuple[str, ...]) -> int:
  names = (axes,) if isinstance(axes, str) else axes
  return int(np.prod([mesh_shape[a] for a in names]))


# The sampling layout: weights replicated over data/fsdp (a decode step must not all-gather the
# weights), still split over tensor. Everything else as in RULES.
SAMPLING_RULES = {**RULES, "embed": None}

Rules = dict[str, str | tuple[str, ...] | None]


def logical_to_spec(axes: LogicalAxes, shape: Sequence[int] | None, mesh: Any,
                    rules: Rules | None = None) -> P:
  """PartitionSpec for an array with logical `axes` (and `shape`, for divisibility) on `mesh`."""
  rules = RULES if rules is None else rules
  mesh_shape = dict(mesh.shape)
  used: set[str] = set()
  spec = []
  for i, name in enumerate(axes):
    if name is not None and name not in rules:
      raise KeyError(f"logical axis {name!r} has no rule; known: {sorted(rules)}")
    target = rules.get(name) if name is not None else None
    if target is not None:
      names = (target,) if isinstance(target, str) else tuple(target)
      names = tuple(a for a in names if a in mesh_shape and a not in used)
      size = _axis_size(mesh_shape, names) if names else 1
      if not names or size == 1 or (shape is not None and shape[i] % size):
        target = None
      else:
        used.update(names)
        target = names[0] if len(names) == 1 else names
    spec.append(target)
  return P(*spec)


def named_sharding(axes: LogicalAxes, shape: Sequence[int] | None, mesh: Mesh,
                   rules: Rules | None = None) -> NamedSharding:
  return NamedSharding(mesh, logical_to_spec(axes, shape, mesh, rules))


def batch_sharding(shape: Sequence[int], mesh: Mesh) -> NamedSharding:
  """An array of `shape` split over the batch-parallel axes on its first dim, the rest replicated
  (rollout and demo batches, per-row sampler inputs and outputs)."""
  return named_sharding(("batch",) + (None,) * (len(shape) - 1), shape, mesh)


def tree_shardings(logical_tree: Any, shape_tree: Any, mesh: Mesh, rules: Rules | None = None) -> Any:
  """NamedShardings for a pytree given its logical axes and a matching tree of shaped leaves."""
  return jax.tree.map(lambda axes, x: named_sharding(axes, x.shape, mesh, rules), logical_tree,
                      shape_tree, is_leaf=lambda a: isinstance(a, tuple))


def constrain(x: jax.Array, axes: LogicalAxes) -> jax.Array:
  """with_sharding_constraint by logical axes under the current mesh (no-op without a mesh)."""
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty:
    return x
  return jax.lax.with_sharding_constraint(x, logical_to_spec(axes, x.shape, mesh))
