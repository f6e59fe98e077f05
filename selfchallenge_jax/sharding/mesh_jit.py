"""jax.jit whose traces and calls run under the mesh, so the model's logical activation constraints
(sharding/rules.constrain, a no-op without a mesh) apply inside the program.

Explicit in/out shardings fix only a program's boundary; inside, XLA propagates. Where an op loses
the batch layout (the engine's gather of parked slots by replicated row ids), every chip would
compute every row: the constraints restore the batch split, which only a mesh context enables.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
from jax.sharding import Mesh


class MeshJitted:
  """A jitted function that is traced, lowered and called under `jax.set_mesh(mesh)`."""

  def __init__(self, fn: Callable[..., Any], mesh: Mesh, **jit_kwargs: Any):
    self.mesh = mesh
    self.jitted = jax.jit(fn, **jit_kwargs)

  def __call__(self, *args: Any, **kwargs: Any) -> Any:
    with jax.set_mesh(self.mesh):
      return self.jitted(*args, **kwargs)

  def lower(self, *args: Any, **kwargs: Any) -> Any:
    with jax.set_mesh(self.mesh):
      return self.jitted.lower(*args, **kwargs)


def mesh_jit(fn: Callable[..., Any], mesh: Mesh | None, **jit_kwargs: Any) -> Any:
  """jax.jit(fn, **jit_kwargs), run under `mesh` when one is given (plain jax.jit otherwise)."""
  if mesh is None:
    return jax.jit(fn, **jit_kwargs)
  return MeshJitted(fn, mesh, **jit_kwargs)
