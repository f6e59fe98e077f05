"""Challenger backends: who plays the challenger. Each turns ChallengeRequests into ChallengerOutputs.

- PolicyBackend: the JAX policy through the RolloutEngine (the default; token-in/token-out, so
  the episodes can also be trained on);
- ScriptedBackend: a fixed script per request (exploration actions, then a final text), for tests
  and for replaying the scripted good tasks (scripted.py) through the same path;
- OpenAIChallengerBackend (openai_backend.py): any OpenAI-compatible chat endpoint.

Every backend plays each request in a fresh ChallengerEnv, so tool calls are real, and reports the
final text (None when the episode ended without one) with why the episode ended.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Protocol, Sequence

from selfchallenge_jax.challenge.challenger_env import ChallengerEnv, make_challenger_env
from selfchallenge_jax.challenge.prompts import challenger_messages
from selfchallenge_jax.challenge.scripted import scripted_challenger_texts
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.tasks.record import RESPOND

Action = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class ChallengeRequest:
  family: str
  env_seed: int        # selects the environment instance (challenger_env.challenger_env_kwargs)
  stream_id: int       # unique per run: the episode's random stream and its position in the run


@dataclasses.dataclass
class ChallengerOutput:
  request: ChallengeRequest
  env_kwargs: dict[str, Any]
  text: str | None           # the final message; None when the episode ended without one
  end_reason: str            # rollout.episode end reasons, or "backend_error: ..."
  ended_by: str | None       # ChallengerEnv.ended_by: "task" | "message" | None
  num_tool_calls: int
  backend: str
  episode: ep.Episode | None = None    # PolicyBackend only: the tokens, for training on them
  # The whole conversation as text, for outputs gathered from another process (which keep no
  # episode); run.episode_record decodes `episode` otherwise.
  transcript: str | None = None


class ChallengerBackend(Protocol):
  name: str

  def generate(self, requests: Sequence[ChallengeRequest], seed: int) -> list[ChallengerOutput]:
    """One output per request, in order; must not raise on model misbehaviour."""


def finish(request: ChallengeRequest, env: ChallengerEnv, env_kwargs: dict[str, Any],
           end_reason: str, backend: str, episode: ep.Episode | None = None) -> ChallengerOutput:
  text = env.answer if env.ended_by is not None else None
  tools = sum(a["kind"] == "tool" for a in env.actions)
  return ChallengerOutput(request=request, env_kwargs=env_kwargs, text=text, end_reason=end_reason,
                          ended_by=env.ended_by, num_tool_calls=tools, backend=backend,
                          episode=episode)


class PolicyBackend:
  """The policy model as challenger: one multi-turn RolloutEngine episode per request."""

  def __init__(self, engine: RolloutEngine, *, include_policy: bool = True,
               name: str = "policy", on_episode_end: Callable[[], None] | None = None) -> None:
    """on_episode_end() is called as each episode ends (e.g. to advance a progress line)."""
    self.engine, self.include_policy, self.name = engine, include_policy, name
    self.on_episode_end = on_episode_end

  def generate(self, requests: Sequence[ChallengeRequest], seed: int) -> list[ChallengerOutput]:
    envs_, specs = [], []
    for request in requests:
      env, env_kwargs = make_challenger_env(request.family, request.env_seed)
      envs_.append((env, env_kwargs))
      specs.append(ep.EpisodeSpec(env=env, messages=challenger_messages(
          env, include_policy=self.include_policy), tools=list(env.tools),
          stream_id=request.stream_id, tag=request.stream_id))
    ended = self.on_episode_end
    episodes = self.engine.run(specs, seed=seed, on_episode_end=(
        None if ended is None else lambda index, episode: ended()))
    return [finish(request, env, env_kwargs, episode.end_reason, self.name, episode)
            for request, (env, env_kwargs), episode in zip(requests, envs_, episodes)]


Script = Callable[[ChallengeRequest], tuple[Sequence[Action], str]]


class ScriptedBackend:
  """Plays `script(request) -> (exploration actions, final text)` against a real ChallengerEnv."""

  def __init__(self, script: Script, *, name: str = "scripted") -> None:
    self.script, self.name = script, name

  def generate(self, requests: Sequence[ChallengeRequest], seed: int) -> list[ChallengerOutput]:
    del seed   # a script is deterministic
    outputs = []
    for request in requests:
      env, env_kwargs = make_challenger_env(request.family, request.env_seed)
      exploration, text = self.script(request)
      for action in exploration:
        if env.done:
          break
        if action["name"] == RESPOND:
          env.respond(str(action.get("arguments", {}).get("content", "")))
        else:
          env.call_tool(action["name"], action.get("arguments", {}))
      if not env.done:
        env.respond(text)
      outputs.append(finish(request, env, env_kwargs, ep.ENV_DONE if env.done else ep.MAX_TURNS,
                            self.name))
    return outputs


def good_task_script(request: ChallengeRequest) -> tuple[Sequence[Action], str]:
  """The scripted good task of this request's episode (scripted.py): a challenger that is right."""
  item = scripted_challenger_texts(request.family, 1, request.env_seed)[0]
  return item.exploration, item.text
