"""A scripted challenger that writes GOOD tasks, from the environments' own benchmark generators.

    for item in scripted_challenger_texts("retail", n=8, seed=100):
      item.env_kwargs, item.exploration, item.text     # what a good challenger episode looks like

Item i belongs to the challenger episode with env seed `seed + i` (challenger_env.py): its
env_kwargs equal challenger_env_kwargs(family, seed + i), its exploration is real tool calls valid
in that environment (the benchmark solution's look-ups / tool steps), and its text is the final
message in layout.py's layout. Uses: SFT demonstrations for the challenger role (the CPU
miniature bootstraps the model on them), the scripted backend, and test fixtures.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Sequence

from selfchallenge_jax import envs
from selfchallenge_jax.challenge import layout
from selfchallenge_jax.challenge.challenger_env import challenger_env_kwargs
from selfchallenge_jax.challenge.scripted_answer_tasks import answer_task_fields
from selfchallenge_jax.challenge.scripted_tau_tasks import tau_task_fields
from selfchallenge_jax.envs import family as family_lib
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask

Action = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ScriptedChallenge:
  env_seed: int
  env_kwargs: dict[str, Any]
  exploration: tuple[Action, ...]     # tool calls made before the final message
  text: str                           # the final message: one task in layout.py's layout


def benchmark_instance(family: str, env_seed: int) -> BenchmarkTask:
  """The benchmark task a good challenger writes in the episode with this env seed."""
  kwargs = challenger_env_kwargs(family, env_seed)
  task = family_lib.get(family).scripted_task(env_seed, kwargs)
  if task.env_kwargs != kwargs:
    raise AssertionError(f"{task.task_id}: env_kwargs {task.env_kwargs} != challenger's {kwargs}")
  return task


@functools.lru_cache(maxsize=4)
def _tau_env(family: str, db_seed: int):
  return envs.make(family, seed=db_seed)   # only fresh_data / replay are used: never mutated


def scripted_task_fields(family: str, env_seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
  """(env_kwargs, fields) of the good task for this episode; fields as layout.format_task_text
  takes them plus "exploration"."""
  return _task_fields(family, benchmark_instance(family, env_seed))


def _task_fields(family: str, task: BenchmarkTask) -> tuple[dict[str, Any], dict[str, Any]]:
  if family_lib.get(family).conversational:
    fields = tau_task_fields(task, _tau_env(family, task.env_kwargs["seed"]))
  else:
    fields = answer_task_fields(task)
  return dict(task.env_kwargs), fields


def task_kind(task: BenchmarkTask) -> str:
  """"family/kind" (e.g. "web_browsing/price", "calculation/dna_sequencer/chain_length")."""
  return task.task_id.rsplit("/", 1)[0]


def scripted_challenger_texts(family: str, n: int, seed: int,
                              kinds: Sequence[str] = ()) -> list[ScriptedChallenge]:
  """n good challenger outputs for the episodes with env seeds seed, seed + 1, ...: every seed,
  or with `kinds` only the seeds whose task is of one of them (a kind, or a prefix of kinds ending
  at a "/": "calculation/dna_sequencer"). Kinds of other families do not restrict this one."""
  wanted = [k.rstrip("/") for k in kinds if k.split("/", 1)[0] == family]
  items, env_seed = [], seed
  while len(items) < n:
    if wanted and env_seed - seed >= 64 * n:
      raise ValueError(f"kinds {wanted} matched {len(items)} of {family}'s first {env_seed - seed} "
                       f"scripted tasks (seeds {seed}+); wanted {n}. Kinds look like "
                       f"{task_kind(benchmark_instance(family, seed))!r}")
    task = benchmark_instance(family, env_seed)      # generated once: kind and fields
    kind = task_kind(task)
    if not wanted or any(kind == k or kind.startswith(k + "/") for k in wanted):
      env_kwargs, fields = _task_fields(family, task)
      text = layout.format_task_text(fields["instruction"], fields["verifier"], fields["solution"],
                                     fields["failure_cases"])
      items.append(ScriptedChallenge(env_seed=env_seed, env_kwargs=env_kwargs,
                                     exploration=tuple(fields["exploration"]), text=text))
    env_seed += 1
  return items
