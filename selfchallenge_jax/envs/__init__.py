"""Tool environments: `envs.make(name, **kwargs)` builds one by its registry name."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs import family
from selfchallenge_jax.envs.base import ERROR_PREFIX, Environment, ToolError, function_schema

# name -> "module:Class" beyond the families (envs/family.py records name their own classes);
# imported lazily so using one environment never imports the others.
_REGISTRY: dict[str, str] = {
    "echo": "selfchallenge_jax.envs.echo:EchoEnv",
}


def register(name: str, target: str) -> None:
  """Adds an environment class ("package.module:Class") under `name`."""
  if name in family.FAMILY_SPECS:
    raise ValueError(f"environment {name!r} is a family (envs/family.py); its record names its "
                     "class")
  if name in _REGISTRY and _REGISTRY[name] != target:
    raise ValueError(f"environment {name!r} is already registered as {_REGISTRY[name]}")
  _REGISTRY[name] = target


def names() -> list[str]:
  return sorted({*_REGISTRY, *family.FAMILY_SPECS})


def make(name: str, **kwargs: Any) -> Environment:
  """Builds the environment registered under `name`; kwargs go to its constructor."""
  if name in family.FAMILY_SPECS:
    target = family.get(name).env_class
  elif name in _REGISTRY:
    target = _REGISTRY[name]
  else:
    raise ValueError(f"unknown environment {name!r}; known: {', '.join(names())}")
  return family.load_target(target)(**kwargs)


__all__ = ["ERROR_PREFIX", "Environment", "ToolError", "function_schema", "make", "names", "register"]
