"""The environment of a challenger episode: a family's real environment behind a thin adapter whose
episode ends when the challenger writes its task.

    env, env_kwargs = make_challenger_env("retail", seed=3)
    env.call_tool("get_user_details", {"user_id": "..."})     # real tool call, real observation
    env.respond("Could you tell me your email?")              # -> the simulated user's reply
    env.respond("<task>...</task>")                           # ends the episode; env.answer = text

Calculation / web browsing have no user: any non-tool message is the final one (as the inner env
would end there too). Retail / airline forward other messages to the simulated user, which plays
a persona drawn from the database (name + email, or user id) so exploration can ask it things;
the same persona sentence is what a written task's instruction usually starts with.
`env_kwargs` rebuild the initial state the challenger saw; they go into the CaT record.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from selfchallenge_jax import envs
from selfchallenge_jax.challenge import layout
from selfchallenge_jax.envs import family as family_lib
from selfchallenge_jax.envs.base import ERROR_PREFIX, Environment

FAMILIES = family_lib.names()


class ChallengerEnv(Environment):
  """Forwards tools, tool calls and state to `inner`; owns `done`, `answer` and the action log."""

  def __init__(self, inner: Environment, family: str) -> None:
    super().__init__()
    self.inner, self.name = inner, f"challenger/{family}"
    self.family = family
    self.conversational = family_lib.get(family).conversational
    self.ended_by: str | None = None    # "task" | "message" | "user_stop": why the episode ended

  @property
  def tools(self) -> list[dict[str, Any]]:
    return self.inner.tools

  @property
  def system_prompt(self) -> str:
    return self.inner.system_prompt

  def reset(self, seed: int | None = None, **kwargs: Any) -> str:
    self.done, self.answer, self.actions, self.ended_by = False, None, [], None
    return self.inner.reset(seed=seed, **kwargs)

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    return self.inner._tool_functions()   # pylint: disable=protected-access

  def state(self) -> dict[str, Any]:
    return self.inner.state()

  def call_tool(self, name: str, arguments: dict[str, Any] | str | None) -> str:
    if self.done:
      observation = ERROR_PREFIX + "the episode is over."
    else:
      observation = self.inner.call_tool(name, arguments)
      # A tool may end the inner episode (transfer_to_human_agents); the challenger may still
      # write its task after that, so only the task message ends this episode.
    self.actions.append({"kind": "tool", "name": name, "arguments": arguments,
                         "observation": observation})
    return observation

  def _on_respond(self, content: str) -> str:
    if layout.TASK_OPEN in content or not self.conversational:
      self.answer, self.done = content, True
      self.ended_by = "task" if layout.TASK_OPEN in content else "message"
      return ""
    if self.inner.done:
      return ERROR_PREFIX + "the user has left; write your task now."
    return self.inner.respond(content)


def challenger_env_kwargs(family: str, seed: int) -> dict[str, Any]:
  """What envs.make gets for a challenger episode with this seed (recorded in the task)."""
  return family_lib.get(family).challenger_env_kwargs(seed)


def make_challenger_env(family: str, seed: int) -> tuple[ChallengerEnv, dict[str, Any]]:
  """A reset ChallengerEnv for one episode and the env_kwargs that rebuild its initial state."""
  env_kwargs = challenger_env_kwargs(family, seed)
  inner = envs.make(family, **env_kwargs)
  env = ChallengerEnv(inner, family)
  if env.conversational:
    # The live database, read-only here: state() would deep-copy megabytes for one look-up.
    env.reset(seed=env_kwargs["seed"],
              instruction=family_lib.get(family).persona(inner.data, seed))
  else:
    env.reset(seed=env_kwargs["seed"], instruction="")
  return env, json.loads(json.dumps(env_kwargs))
