"""Program: one jitted function with explicit boundary shardings and donation, run under its mesh.

Explicit in/out shardings fix only a program's boundary; inside, XLA propagates. Where an op loses
the batch layout (the engine's gather of parked slots by replicated row ids), every chip would
compute every row: the model's logical activation constraints (sharding/rules.constrain) restore
the batch split, and they apply only under a mesh context. So a Program is traced, lowered and
called under `jax.set_mesh(mesh)`.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable

import jax
from jax.sharding import Mesh


class Program:
  """fn jitted with in/out shardings and donation on `mesh`; call it or `.lower(*abstract)`."""

  def __init__(self, name: str, fn: Callable[..., Any], mesh: Mesh, *,
               in_shardings: Any = None, out_shardings: Any = None,
               donate_argnums: int | tuple[int, ...] = (),
               compiler_options: dict[str, Any] | None = None):
    self.name, self.mesh = name, mesh
    kwargs: dict[str, Any] = dict(donate_argnums=donate_argnums)
    if in_shardings is not None:
      kwargs["in_shardings"] = in_shardings
    if out_shardings is not None:
      kwargs["out_shardings"] = out_shardings
    if compiler_options:
      kwargs["compiler_options"] = compiler_options
    self.jitted = jax.jit(fn, **kwargs)

  def __call__(self, *args: Any) -> Any:
    with jax.set_mesh(self.mesh):
      return self.jitted(*args)

  def lower(self, *args: Any) -> Any:
    with jax.set_mesh(self.mesh):
      return self.jitted.lower(*args)

  def __repr__(self) -> str:
    return f"Program({self.name!r}, mesh={dict(self.mesh.shape)})"


class ProgramTable:
  """The programs one owner (a sampler, an engine, a trainer) has built, by key, each built once.

  Owned per instance and released with it: a method lru_cache would key on the instance and keep
  every closed sampler or engine (and the params it holds) alive for the rest of the process.
  """

  def __init__(self):
    self._programs: dict[Hashable, Program] = {}
    self._lock = threading.Lock()   # two engines may share one sampler (launch.evaluate's user)

  def get(self, key: Hashable, build: Callable[[], Program]) -> Program:
    program = self._programs.get(key)
    if program is None:
      with self._lock:
        program = self._programs.get(key)
        if program is None:
          program = self._programs[key] = build()
    return program

  def keys(self) -> list[Hashable]:
    return list(self._programs)

  def __len__(self) -> int:
    return len(self._programs)
