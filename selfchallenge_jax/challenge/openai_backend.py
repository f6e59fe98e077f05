"""A challenger behind any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, a hosted API).

    backend = OpenAIChallengerBackend("http://127.0.0.1:8000/v1", model="llama-3.1-8b-instruct")

Each request is one conversation: POST {base_url}/chat/completions with the messages so far and the
environment's tools; returned `tool_calls` run against the ChallengerEnv (results go back as "tool"
messages); returned content is a message (to the simulated user, or the final task, which ends the
episode). Requests go through envs/user_endpoint.EndpointChat (retries with backoff on dropped
connections, 429 and 5xx). Failures that outlast the retries, and malformed replies, end that
episode with end_reason "backend_error: ..." and no text: counted, never raised.
"""

from __future__ import annotations

from typing import Any, Sequence

from selfchallenge_jax.challenge.backends import ChallengeRequest, ChallengerOutput, finish
from selfchallenge_jax.challenge.challenger_env import ChallengerEnv, make_challenger_env
from selfchallenge_jax.challenge.prompts import challenger_messages
from selfchallenge_jax.envs.user_endpoint import EndpointChat
from selfchallenge_jax.rollout import episode as ep

BACKEND_ERROR = "backend_error"


class OpenAIChallengerBackend:

  def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
               temperature: float = 1.0, max_tokens: int = 1024, max_turns: int = 8,
               timeout_s: float = 120.0, max_retries: int = 3, include_policy: bool = True,
               name: str = "openai") -> None:
    self.endpoint = EndpointChat(base_url, model, api_key=api_key, temperature=temperature,
                                 timeout_s=timeout_s, max_retries=max_retries,
                                 max_tokens=max_tokens)
    self.max_turns, self.include_policy, self.name = max_turns, include_policy, name

  def generate(self, requests: Sequence[ChallengeRequest], seed: int) -> list[ChallengerOutput]:
    return [self._episode(request, seed) for request in requests]

  def _episode(self, request: ChallengeRequest, seed: int) -> ChallengerOutput:
    env, env_kwargs = make_challenger_env(request.family, request.env_seed)
    messages: list[dict[str, Any]] = list(challenger_messages(env,
                                                              include_policy=self.include_policy))
    for turn in range(self.max_turns):
      try:
        message = self._complete(messages, env, seed * 1_000_003 + request.stream_id + turn)
      except (OSError, ValueError, KeyError, IndexError, TypeError) as e:
        # urllib's errors are OSErrors; a malformed payload shows up as the others.
        return finish(request, env, env_kwargs, f"{BACKEND_ERROR}: {type(e).__name__}: {e}",
                      self.name)
      if self._step(message, messages, env):
        return finish(request, env, env_kwargs, ep.ENV_DONE, self.name)
    return finish(request, env, env_kwargs, ep.MAX_TURNS, self.name)

  def _complete(self, messages: list[dict[str, Any]], env: ChallengerEnv,
                seed: int) -> dict[str, Any]:
    return self.endpoint.complete(messages, tools=env.tools, seed=seed)

  def _step(self, message: dict[str, Any], messages: list[dict[str, Any]],
            env: ChallengerEnv) -> bool:
    """Applies one assistant message to the env and the history; True when the episode ended."""
    calls = message.get("tool_calls") or []
    if calls:
      messages.append({"role": "assistant", "content": message.get("content") or "",
                       "tool_calls": calls})
      for i, call in enumerate(calls):
        function = call.get("function") or {}
        arguments = function.get("arguments") or {}
        # The env reports bad JSON arguments as an "Error: ..." observation the model can read.
        observation = env.call_tool(str(function.get("name", "")), arguments)
        messages.append({"role": "tool", "tool_call_id": call.get("id", f"call_{i}"),
                         "content": observation})
      return env.done
    content = str(message.get("content") or "")
    reply = env.respond(content)
    messages.append({"role": "assistant", "content": content})
    if env.done:
      return True
    messages.append({"role": "user", "content": reply})
    return False
