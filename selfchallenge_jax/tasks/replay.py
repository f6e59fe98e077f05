"""Replays a CaT action list in a fresh environment and returns what the verifier will read."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from selfchallenge_jax import envs
from selfchallenge_jax.tasks.record import RESPOND, Action, CodeAsTask


@dataclasses.dataclass(frozen=True)
class Replay:
  state: dict[str, Any]            # env.state() after the last action
  answer: str                      # env.answer or ""
  messages: list[dict[str, Any]]   # env.actions: the action log the verifier receives
  first_error: str | None          # the first "Error: ..." observation or reply, if any


def replay(task: CodeAsTask, actions: Sequence[Action]) -> Replay:
  """Builds envs.make(task.env, **task.env_kwargs), resets it, and applies `actions` in order.

  reset gets the task's seed and instruction (the instruction drives a simulated user, where the
  environment has one). Raises whatever the environment raises; check.py turns that into a reason.
  """
  env = envs.make(task.env, **task.env_kwargs)
  env.reset(seed=task.env_kwargs.get("seed"), instruction=task.instruction)
  first_error = None
  for action in actions:
    if action["name"] == RESPOND:
      observation = env.respond(action["arguments"]["content"])
    else:
      observation = env.call_tool(action["name"], action["arguments"])
    if first_error is None and observation.startswith(envs.ERROR_PREFIX):
      first_error = observation
  return Replay(state=env.state(), answer=env.answer or "", messages=list(env.actions),
                first_error=first_error)
