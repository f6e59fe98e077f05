"""The scripted expert as conversations: a task's solution replayed in a fresh environment and
recorded as the chat the executor would have had, for SFT demonstrations.

    demo = play_expert(task)                       # ExpertDemo: messages, tools, final state, ...
    rendered = render_demonstration(chat, demo)    # ids + role mask (1 on the expert's tokens)

The chat starts with executor_spec's opening (same system prompt, same first user message) and
records, per solution step:
  tool call  -> ToolCall(name, arguments).to_message(), then {"role": "ipython", "content": obs}
  respond    -> {"role": "assistant", "content": text}, then the simulated user's reply as a
                {"role": "user"} message (calculation / web browsing have no user: nothing follows)
exactly as the rollout engine appends them, and like the engine it stops when the environment is
done (the observation or reply that ended it is never shown to the model).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Sequence

from selfchallenge_jax.agents.executor import Task, UserFactory, make_task_env, opening_messages
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.tasks.record import RESPOND
from selfchallenge_jax.tokenizer.chat_base import ChatFormat, RenderedChat
from selfchallenge_jax.tokenizer.tool_calls import ToolCall


@dataclasses.dataclass
class ExpertDemo:
  """A recorded expert conversation; answer / final_state / actions make it score like an Episode."""
  task_id: str
  messages: list[dict[str, Any]]
  tools: list[dict[str, Any]]
  answer: str | None
  final_state: dict[str, Any]
  actions: list[dict[str, Any]]
  done: bool                       # the environment ended the episode (answer, ###STOP###, ...)
  steps_after_done: int            # solution steps left unplayed because the episode had ended


def play_expert(task: Task, *, user_factory: UserFactory | None = None) -> ExpertDemo:
  """Replays task.solution in a fresh environment and records the conversation."""
  if not task.solution:
    raise ValueError(f"task {task.task_id} has no scripted solution to replay")
  env, first = make_task_env(task, user_factory)
  messages: list[dict[str, Any]] = opening_messages(env, first)
  played = 0
  for step in task.solution:
    if env.done:
      break
    played += 1
    arguments = dict(step.get("arguments") or {})
    if step["name"] == RESPOND:
      content = str(arguments.get("content", ""))
      messages.append({"role": "assistant", "content": content})
      reply = env.respond(content)
      if not env.done:
        messages.append({"role": "user", "content": reply})
    else:
      messages.append(ToolCall(step["name"], arguments).to_message())
      observation = env.call_tool(step["name"], arguments)
      if not env.done:
        messages.append({"role": "ipython", "content": observation})
  return ExpertDemo(task_id=task.task_id, messages=messages, tools=list(env.tools),
                    answer=env.answer, final_state=env.state(), actions=list(env.actions),
                    done=env.done, steps_after_done=len(task.solution) - played)


def expert_conversation(task: Task, *, user_factory: UserFactory | None = None
                        ) -> list[dict[str, Any]]:
  """The expert's chat for `task` (opening messages included)."""
  return play_expert(task, user_factory=user_factory).messages


def render_demonstration(chat: ChatFormat, demo: ExpertDemo) -> RenderedChat:
  """Token ids of the demonstration; role_mask is 1 exactly on the expert's (assistant) tokens."""
  return chat.render(demo.messages, tools=demo.tools, add_generation_prompt=False)


def expert_demonstrations(tasks: Iterable[BenchmarkTask], *, require_success: bool = True,
                          user_factory: UserFactory | None = None) -> list[ExpertDemo]:
  """Expert demos of benchmark tasks, each checked with score_episode.

  With require_success a demo that does not score 1 raises (a generator or environment bug, which
  must not silently become training data); otherwise such demos are dropped.
  """
  demos = []
  for task in tasks:
    demo = play_expert(task, user_factory=user_factory)
    if score_episode(task, demo) == 1.0:
      demos.append(demo)
    elif require_success:
      raise ValueError(f"scripted expert of task {task.task_id} does not solve it "
                       f"(done={demo.done}, answer={demo.answer!r})")
  return demos


def conversation_actions(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
  """The expert's actions read back from a chat: tool calls and respond texts, in order."""
  actions = []
  for message in messages:
    if message["role"] != "assistant":
      continue
    calls = message.get("tool_calls") or []
    if calls:
      function = calls[0]["function"]
      actions.append({"name": function["name"], "arguments": dict(function["arguments"])})
    else:
      actions.append({"name": RESPOND, "arguments": {"content": message["content"]}})
  return actions
