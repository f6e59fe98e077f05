"""Scores one finished executor episode against its benchmark task.

    score_episode(task, episode) -> 1.0 | 0.0

- calculation / web browsing (the task has an expected answer): the final answer against it,
  `answer_matches` (strict, the default) or M3ToolEval's own check with its faults
  (`answer_check="m3tooleval"`, see answer_match.py); no answer scores 0;
- retail / airline (tau-bench tasks): tau-bench's reward on the episode's final database and the
  messages the agent sent the user (its `respond` actions): gold-database hash equality and every
  required output said.

`episode` is anything with `answer`, `final_state` and `actions` (a rollout Episode, or a
scripted ExpertDemo).
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any, Protocol

from selfchallenge_jax import envs
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.answer_match import answer_check as answer_check_fn
from selfchallenge_jax.envs.calculation.answer_match import parse_value
from selfchallenge_jax.envs.tau_common import TauEnvironment
from selfchallenge_jax.envs.tau_reward import TauReward, respond_messages, tau_reward_from_state


class ScoredEpisode(Protocol):
  answer: str | None
  final_state: dict[str, Any]
  actions: list[dict[str, Any]]


def score_episode(task: BenchmarkTask, episode: ScoredEpisode, answer_check: str = "strict"
                  ) -> float:
  """1.0 if the episode solves the task, else 0.0."""
  if task.expected_answer is not None:
    matches = answer_check_fn(answer_check)
    if episode.answer is None:
      return 0.0
    expected: Any = task.expected_answer
    if answer_check != "strict":        # M3ToolEval's check depends on the expected value's type
      expected = (task.expected_value if task.expected_value is not None
                  else parse_value(task.expected_answer))
    return 1.0 if matches(episode.answer, expected) else 0.0
  return tau_score(task, episode).reward


def tau_score(task: BenchmarkTask, episode: ScoredEpisode) -> TauReward:
  """tau-bench's reward with its parts (database match, outputs found) for diagnostics."""
  try:
    key = json.dumps(task.env_kwargs, sort_keys=True)
  except TypeError:       # kwargs that are not JSON (a Path, a user object): no caching
    env = None
  else:
    env = _gold_env(task.env, key)
  messages = respond_messages(episode.actions)
  if env is None:
    # The reward module rebuilds the env (and rejects a family without a database).
    return tau_reward_from_state(task, episode.final_state, messages)
  with _GOLD_LOCK:        # the shared env's gold cache is not safe to fill from several threads
    return tau_reward_from_state(task, episode.final_state, messages, env)


_GOLD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _gold_env(name: str, kwargs_json: str) -> TauEnvironment | None:
  # Building a tau env parses its whole database (~0.3 s for the built-in store); one per
  # (env, kwargs) serves every episode, and env.gold caches the replayed hash per gold list.
  env = envs.make(name, **json.loads(kwargs_json))
  return env if isinstance(env, TauEnvironment) else None
