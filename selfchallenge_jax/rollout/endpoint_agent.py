"""RolloutEngine's `run()` for an assistant behind an OpenAI-compatible endpoint (an API model, a
vLLM or llama.cpp server, our own launch.serve): what launch.evaluate --agent_url drives.

    agent = EndpointAgent(EndpointChat(url, "gpt-4o", temperature=0.0), max_turns=8)
    episodes = agent.run([executor_spec(task, stream_id=i) for i, task in ...], seed=0)

The specs are the engine's (agents/executor.py builds them: same opening messages, tools and
environment), and each episode's turns are run_turns' (endpoint_turns.py: the engine's reading
of a reply), so a benchmark scores an API model and a checkpoint on the same conversation.
Episodes run `concurrency` at a time, each on its own thread (the requests are I/O); the endpoint
has no tokens to give, so an EndpointEpisode carries the conversation as messages instead.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
from typing import Any, Callable, Sequence

from selfchallenge_jax.envs.user_endpoint import EndpointChat
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.endpoint_turns import run_turns


@dataclasses.dataclass
class EndpointEpisode(ep.Episode):
  """An Episode without tokens (tokens, loss_mask, logprobs and turns stay empty): `messages` is
  the whole conversation in the OpenAI layout, as the endpoint saw it."""

  messages: list[dict[str, Any]] = dataclasses.field(default_factory=list)

  @property
  def num_turns(self) -> int:
    return sum(1 for m in self.messages if m.get("role") == "assistant")


class EndpointAgent:
  """Runs episode specs to their end against `chat`'s endpoint, `concurrency` at a time."""

  def __init__(self, chat: EndpointChat, *, max_turns: int = 8, max_turn_tokens: int | None = None,
               concurrency: int = 8) -> None:
    if concurrency < 1 or max_turns < 1:
      raise ValueError(f"need concurrency >= 1 and max_turns >= 1, got {concurrency}, {max_turns}")
    self.chat, self.max_turns, self.max_turn_tokens = chat, max_turns, max_turn_tokens
    self.num_slots = concurrency            # episodes in flight (the engine's name for it)
    self._pool = cf.ThreadPoolExecutor(concurrency, thread_name_prefix="agent")

  def close(self) -> None:
    self._pool.shutdown(wait=True)

  def run(self, specs: Sequence[ep.EpisodeSpec], seed: int = 0,
          on_episode_end: Callable[[int, ep.Episode], None] | None = None
          ) -> list[EndpointEpisode]:
    """Every episode to its end, in the order of `specs`; on_episode_end(index, episode) runs on
    the calling thread as each ends (as RolloutEngine.run calls it)."""
    futures = {self._pool.submit(self._episode, spec, seed): i for i, spec in enumerate(specs)}
    results: dict[int, EndpointEpisode] = {}
    for future in cf.as_completed(futures):
      index = futures[future]
      results[index] = future.result()
      if on_episode_end is not None:
        on_episode_end(index, results[index])
    return [results[i] for i in range(len(specs))]

  def _episode(self, spec: ep.EpisodeSpec, seed: int) -> EndpointEpisode:
    messages = [dict(m) for m in spec.messages]
    fields: dict[str, Any] = {}
    max_tokens = spec.max_turn_tokens or self.max_turn_tokens
    if max_tokens is not None:
      fields["max_tokens"] = max_tokens
    if spec.temperature is not None:
      fields["temperature"] = spec.temperature
    if spec.top_p is not None:
      fields["top_p"] = spec.top_p
    # The episode's requests carry seeds fixed by its stream, as its engine tokens would be.
    reason = run_turns(self.chat.complete, spec.env, messages, max_turns=self.max_turns,
                       tools=list(spec.tools or ()), seed=seed * 1_000_003 + spec.stream_id,
                       **fields)
    env = spec.env
    return EndpointEpisode(tag=spec.tag, tokens=[], loss_mask=[], logprobs=[], turns=[],
                           end_reason=reason, answer=env.answer, final_state=env.state(),
                           actions=list(env.actions), messages=messages)
