"""A challenger behind any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, a hosted API).

    backend = OpenAIChallengerBackend("http://127.0.0.1:8000/v1", model="llama-3.1-8b-instruct")

Each request is one conversation: POST {base_url}/chat/completions with the messages so far and the
environment's tools; a returned tool call (the first of `tool_calls`, or one JSON call written as
content) runs against the ChallengerEnv (its result goes back as a "tool" message); other content
is a message (to the simulated user, or the final task, which ends the episode). The turns are
rollout/endpoint_turns.run_turns, shared with the endpoint executor. Requests go through
envs/user_endpoint.EndpointChat (retries with backoff on dropped connections, 429 and 5xx).
Failures that outlast the retries, and malformed replies, end that episode with end_reason
"backend_error: ..." and no text: counted, never raised.
"""

from __future__ import annotations

from typing import Any, Sequence

from selfchallenge_jax.challenge.backends import ChallengeRequest, ChallengerOutput, finish
from selfchallenge_jax.challenge.challenger_env import make_challenger_env
from selfchallenge_jax.challenge.prompts import challenger_messages
from selfchallenge_jax.envs.user_endpoint import EndpointChat
from selfchallenge_jax.rollout.endpoint_turns import BACKEND_ERROR, run_turns

__all__ = ["BACKEND_ERROR", "OpenAIChallengerBackend"]


class OpenAIChallengerBackend:

  def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
               temperature: float = 1.0, max_tokens: int = 1024, max_turns: int = 8,
               timeout_s: float = 120.0, max_retries: int = 3, include_policy: bool = True,
               name: str = "openai") -> None:
    self.endpoint = EndpointChat(base_url, model, api_key=api_key, temperature=temperature,
                                 timeout_s=timeout_s, max_retries=max_retries,
                                 max_tokens=max_tokens, role="challenger")
    self.max_turns, self.include_policy, self.name = max_turns, include_policy, name

  def generate(self, requests: Sequence[ChallengeRequest], seed: int) -> list[ChallengerOutput]:
    return [self._episode(request, seed) for request in requests]

  def _episode(self, request: ChallengeRequest, seed: int) -> ChallengerOutput:
    env, env_kwargs = make_challenger_env(request.family, request.env_seed)
    messages: list[dict[str, Any]] = list(challenger_messages(env,
                                                              include_policy=self.include_policy))
    # The executor's endpoint turns (rollout/endpoint_turns.py): tool calls, JSON calls written
    # as text and messages are read as the policy challenger's engine reads them.
    reason = run_turns(self.endpoint.complete, env, messages, max_turns=self.max_turns,
                       tools=env.tools, seed=seed * 1_000_003 + request.stream_id)
    return finish(request, env, env_kwargs, reason, self.name)
