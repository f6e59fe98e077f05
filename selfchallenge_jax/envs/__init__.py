"""Tool environments: `envs.make(name, **kwargs)` builds one by its registry name."""

from __future__ import annotations

import importlib
from typing import Any

from selfchallenge_jax.envs.base import ERROR_PREFIX, Environment, ToolError, function_schema

# name -> "module:Class"; imported lazily so using one family never imports the others.
_REGISTRY: dict[str, str] = {
    "calculation": "selfchallenge_jax.envs.calculation.env:CalculationEnv",
    "web_browsing": "selfchallenge_jax.envs.web_browsing.env:WebBrowsingEnv",
    "retail": "selfchallenge_jax.envs.retail.env:RetailEnv",
    "airline": "selfchallenge_jax.envs.airline.env:AirlineEnv",
    "echo": "selfchallenge_jax.envs.echo:EchoEnv",
}


def register(name: str, target: str) -> None:
  """Adds an environment class ("package.module:Class") under `name`."""
  if name in _REGISTRY and _REGISTRY[name] != target:
    raise ValueError(f"environment {name!r} is already registered as {_REGISTRY[name]}")
  _REGISTRY[name] = target


def names() -> list[str]:
  return sorted(_REGISTRY)


def make(name: str, **kwargs: Any) -> Environment:
  """Builds the environment registered under `name`; kwargs go to its constructor."""
  if name not in _REGISTRY:
    raise ValueError(f"unknown environment {name!r}; known: {', '.join(names())}")
  module_name, class_name = _REGISTRY[name].split(":")
  cls = getattr(importlib.import_module(module_name), class_name)
  return cls(**kwargs)


__all__ = ["ERROR_PREFIX", "Environment", "ToolError", "function_schema", "make", "names", "register"]
