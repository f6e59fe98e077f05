"""One record per environment family: all the pipeline knows about a family, in its own folder.

    family = get("retail")
    family.generate(8, seed=1000)             # held-out benchmark tasks (BenchmarkTasks)
    family.challenger_env_kwargs(seed)        # the environment of a challenger episode
    family.conversational                     # a simulated user talks to the agent (tau-bench)

Adding a family is one folder, envs/<name>/ (its Environment, its task generator and `spec.py`
with `FAMILY = Family(...)`), and one line in FAMILY_SPECS. The env registry (`envs.make`), the
evaluation task sets, the TFDS benchmark, the challenger's environment, prompts and scripted
tasks all read the record; nothing else names a family.
"""

from __future__ import annotations

import dataclasses
import importlib
import random
from typing import Any, Callable

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask

# name -> the module holding its FAMILY; imported lazily, so using one family never imports others.
FAMILY_SPECS: dict[str, str] = {
    "calculation": "selfchallenge_jax.envs.calculation.spec",
    "web_browsing": "selfchallenge_jax.envs.web_browsing.spec",
    "retail": "selfchallenge_jax.envs.retail.spec",
    "airline": "selfchallenge_jax.envs.airline.spec",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Family:
  name: str
  env_class: str                  # "module:Class", what envs.make(name) builds
  generator: str                  # "module:function": (n, seed) -> list[BenchmarkTask]
  paper_test_size: int            # held-out tasks of this environment in the paper (PAPER.md)
  conversational: bool            # a simulated user talks to the agent; its messages go to it
  challenger_role: str            # opens the challenger's system prompt
  challenger_rules: str           # what this family's verifier checks and how the task ends
  # seed -> envs.make kwargs of a challenger episode (recorded in the task it writes)
  challenger_env_kwargs: Callable[[int], dict[str, Any]]
  # (env seed, env kwargs) -> the benchmark task a good challenger writes in that episode
  scripted_task: Callable[[int, dict[str, Any]], BenchmarkTask]
  # (database state, seed) -> the simulated user's identity during exploration (conversational)
  persona: Callable[[dict[str, Any], int], str] | None = None

  def generate(self, n: int, seed: int) -> list[BenchmarkTask]:
    return load_target(self.generator)(n, seed)


def load_target(target: str) -> Any:
  """The object a "package.module:Name" string names, importing its module."""
  module, name = target.split(":")
  return getattr(importlib.import_module(module), name)


# ---- pieces the conversational (tau-bench) families share -------------------------------------
def tau_scripted_task(generator: str, kinds: int) -> Callable[[int, dict[str, Any]], BenchmarkTask]:
  """The scripted challenger's task for a tau family whose generator cycles through `kinds` task
  kinds by position: position k is kind k, so varying k with the env seed covers every kind."""
  def scripted_task(env_seed: int, env_kwargs: dict[str, Any]) -> BenchmarkTask:
    return load_target(generator)(env_seed % kinds + 1, env_seed, db_seed=env_kwargs["seed"])[-1]
  return scripted_task


def persona_user_id(state: dict[str, Any], seed: int) -> str:
  """The database user a challenger episode's simulated user plays, drawn with `seed`."""
  return random.Random(f"challenger-persona-{seed}").choice(sorted(state["users"]))


def names() -> tuple[str, ...]:
  return tuple(FAMILY_SPECS)


def get(name: str) -> Family:
  if name not in FAMILY_SPECS:
    raise ValueError(f"unknown environment family {name!r}; known: {', '.join(FAMILY_SPECS)}")
  family = importlib.import_module(FAMILY_SPECS[name]).FAMILY
  if family.name != name:
    raise AssertionError(f"{FAMILY_SPECS[name]} holds family {family.name!r}, not {name!r}")
  return family


def conversational() -> tuple[str, ...]:
  return tuple(n for n in FAMILY_SPECS if get(n).conversational)
