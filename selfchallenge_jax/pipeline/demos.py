"""Scripted demonstrations for bootstrapping, as chats: the stand-in for an instruct model's data.

Executor demos: generated benchmark tasks solved by the scripted expert (agents/scripted.py).
Challenger demos: challenger episodes that explore with real tool calls and then write a good
Code-as-Task record (challenge/scripted.py). Both are rendered by the one chat format, so the role
mask marks exactly the assistant's tokens. Their text also trains the tokenizer.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

import numpy as np

from selfchallenge_jax.agents.scripted import expert_demonstrations
from selfchallenge_jax.challenge.challenger_env import make_challenger_env
from selfchallenge_jax.challenge.prompts import challenger_messages
from selfchallenge_jax.challenge.scripted import scripted_challenger_texts
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.tokenizer.chat_base import TOOL_SCHEMA_STYLES, TOOLS_PREAMBLE
from selfchallenge_jax.tokenizer.tool_calls import ToolCall


@dataclasses.dataclass(frozen=True)
class DemoChat:
  role: str                               # "executor" | "challenger"
  family: str
  messages: list[dict[str, Any]]
  tools: list[dict[str, Any]]


def executor_demos(families: Sequence[str], per_family: int, seed: int,
                   num_seeds: int = 1) -> list[DemoChat]:
  """`per_family` solved tasks per family, spread over task seeds seed .. seed + num_seeds - 1
  (fewer when per_family < num_seeds: each seed used gives at least one task).

  One seed is one environment instance (one web site, one travel database): demos from a single
  seed teach that instance's URLs and names, which held-out seeds do not share.
  """
  if num_seeds < 1:
    raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
  num_seeds = max(1, min(num_seeds, per_family))
  chats = []
  for family in families:
    counts = [per_family // num_seeds + (j < per_family % num_seeds) for j in range(num_seeds)]
    for j, count in enumerate(counts):
      tasks = builtin_task_sets({family: count}, seed + j).get(family, [])
      for demo in expert_demonstrations(tasks):
        chats.append(DemoChat("executor", family, demo.messages, demo.tools))
  return chats


def challenger_demos(families: Sequence[str], per_family: int, seed: int,
                     kinds: Sequence[str] = ()) -> list[DemoChat]:
  """`per_family` scripted challenger episodes (explore, then write a good record) per family
  from env seed `seed` on; `kinds` restricts the task kinds (challenge/scripted.py)."""
  chats = []
  for family in families:
    for item in scripted_challenger_texts(family, per_family, seed, kinds):
      env, _ = make_challenger_env(family, item.env_seed)
      messages = challenger_messages(env)
      for action in item.exploration:
        messages.append(ToolCall(action["name"], dict(action["arguments"])).to_message())
        messages.append({"role": "ipython",
                         "content": env.call_tool(action["name"], dict(action["arguments"]))})
      messages.append({"role": "assistant", "content": item.text})
      chats.append(DemoChat("challenger", family, messages, list(env.tools)))
  return chats


def policy_turns(role_mask: Sequence[float]) -> np.ndarray:
  """Lengths, in order, of the runs of policy-written tokens (the assistant turns) of a render."""
  edges = np.diff(np.concatenate([[0], np.asarray(role_mask, np.int8), [0]]))
  return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def fits_episode_budget(role_mask: Sequence[float], *, max_turns: int, max_turn_tokens: int,
                        max_episode_tokens: int) -> bool:
  """Whether a policy imitating this demo could finish it within an episode's budgets. A demo
  past them teaches a record the policy is always cut off before closing (the challenger's
  long-solution kinds: ~20-call totals over several products, 10-18-call trade routes)."""
  turns = policy_turns(role_mask)
  return (len(turns) <= max_turns and int(turns.max(initial=0)) <= max_turn_tokens
          and int(turns.sum()) <= max_episode_tokens)


def corpus_text(chats: Sequence[DemoChat], tool_schemas: str = "json") -> list[str]:
  """Lines of text to train the tokenizer on, as often as the model will read them: every chat's
  tools preamble and tool listing (in the chat format's `tool_schemas` style), messages and calls.
  BPE merges the most frequent pairs, so text every prompt repeats becomes few, long pieces."""
  lines = []
  for chat in chats:
    if chat.tools:
      lines.append(TOOLS_PREAMBLE)
      lines.extend(TOOL_SCHEMA_STYLES[tool_schemas]([tool]) for tool in chat.tools)
    for message in chat.messages:
      if message.get("tool_calls"):
        function = message["tool_calls"][0]["function"]
        lines.append(json.dumps({"name": function["name"], "parameters": function["arguments"]}))
      else:
        content = message.get("content", "")
        lines.append(content if isinstance(content, str) else json.dumps(content))
  return lines
