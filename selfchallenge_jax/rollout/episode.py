"""What the rollout engine takes in (EpisodeSpec) and gives back (Episode): token-in/token-out."""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from selfchallenge_jax.envs.base import Environment

# Why an episode ended.
ENV_DONE, MAX_TURNS, MAX_TOKENS, CONTEXT_FULL = "env_done", "max_turns", "max_tokens", "context_full"
ENV_ERROR = "env_error"      # the environment raised; the reason carries the exception
CANCELLED = "cancelled"      # the episode source cancelled it (a served request went away)


@dataclasses.dataclass
class EpisodeSpec:
  env: Environment                       # already reset; stepped by the engine's worker threads
  messages: Sequence[dict[str, Any]]     # the opening chat (system, user, ...)
  tools: Sequence[dict[str, Any]] | None = None
  stream_id: int = 0                     # selects the episode's random stream (with the seed)
  max_turn_tokens: int | None = None     # per-episode turn budget (default: the engine's)
  tag: Any = None                        # caller's data, returned untouched (task id, group, ...)
  temperature: float | None = None       # sampling settings of this episode (None: the engine's)
  top_p: float | None = None
  # The opening chat already rendered with tools and the generation prompt (a caller that had to
  # render it to check its length); None: the engine renders `messages`.
  prompt_ids: Sequence[int] | None = None


@dataclasses.dataclass
class Episode:
  tag: Any
  tokens: list[int]          # every token of the conversation, exactly as the model saw them
  loss_mask: list[int]       # 1 = sampled by the policy; 0 = system/user/tool/env/template tokens
  logprobs: list[float]      # sampler log-probability where loss_mask is 1, else 0
  turns: list[tuple[int, int]]   # [start, end) of each sampled assistant turn in `tokens`
  end_reason: str            # env_done | max_turns | max_tokens | context_full | env_error: ...
  answer: str | None         # the environment's final answer (env.answer)
  final_state: dict[str, Any]
  actions: list[dict[str, Any]]  # the environment's action log (what verifiers get as messages)

  @property
  def num_turns(self) -> int:
    return len(self.turns)


@dataclasses.dataclass
class EpisodeBuffer:
  """Host-side record of one running episode."""
  spec: EpisodeSpec
  tokens: list[int]
  loss_mask: list[int]
  logprobs: list[float]
  turns: list[tuple[int, int]] = dataclasses.field(default_factory=list)
  cached: int = 0              # tokens of this episode currently in the slot's KV cache
  sampled: int = 0             # policy tokens so far (the episode token budget)
  turn_start: int = 0

  def add_context(self, ids: Sequence[int]) -> None:
    self.tokens.extend(ids)
    self.loss_mask.extend([0] * len(ids))
    self.logprobs.extend([0.0] * len(ids))

  def add_sampled(self, ids: Sequence[int], logprobs: Sequence[float]) -> None:
    self.tokens.extend(ids)
    self.loss_mask.extend([1] * len(ids))
    self.logprobs.extend(float(x) for x in logprobs)
    self.sampled += len(ids)

  def finish(self, reason: str) -> Episode:
    env = self.spec.env
    return Episode(tag=self.spec.tag, tokens=self.tokens, loss_mask=self.loss_mask,
                   logprobs=self.logprobs, turns=self.turns, end_reason=reason, answer=env.answer,
                   final_state=env.state(), actions=list(env.actions))
