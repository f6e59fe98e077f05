"""The one place that turns a task into an executor episode (an EpisodeSpec for the rollout engine).

    spec = executor_spec(task, stream_id=7)            # BenchmarkTask or CodeAsTask
    episodes = engine.run([spec], seed=0)

The episode opens with two messages:
  system: the environment's own system prompt (M3ToolEval's answer format for calculation / web
          browsing, the policy document for retail / airline) plus short executor instructions;
  user:   the task instruction (calculation, web browsing), or the simulated user's first message
          (retail, airline: there the instruction goes to the simulated user, never to the agent).
The tools are `env.tools`; the chat format puts their schemas into the first user message.

Training (GRPO, rejection fine-tuning), evaluation and the scripted demonstrations all build their
prompts here, so a model is trained and scored on exactly the same opening.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from selfchallenge_jax import envs
from selfchallenge_jax.envs.base import Environment
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.simulated_user import ChatFn, SimulatedUser
from selfchallenge_jax.envs.tau_common import TauEnvironment
from selfchallenge_jax.rollout.episode import EpisodeSpec
from selfchallenge_jax.tasks.record import CodeAsTask

Task = Union[BenchmarkTask, CodeAsTask]
#: Builds the simulated user of a conversational task (None: the environment's scripted user).
UserFactory = Callable[[Task], Union[SimulatedUser, ChatFn]]

# Kept to a few lines: CPU models have 1-2k token contexts, and the tool schemas already say how
# to call a tool. The engine parses a reply as a tool call only when it is a single JSON call.
ANSWER_INSTRUCTIONS = (
    "Call one tool per turn by replying with only its JSON call. When you know the result, reply "
    "with 'Answer: <value>' and nothing else; that reply ends the task.")
CONVERSATION_INSTRUCTIONS = (
    "Call one tool per turn by replying with only its JSON call. Any other reply is sent to the "
    "user. Follow the policy above.")


def is_conversational(env: Environment) -> bool:
  """True where a simulated user holds the instruction (the tau-bench style families)."""
  return isinstance(env, TauEnvironment)


def system_message(env: Environment) -> dict[str, str]:
  instructions = CONVERSATION_INSTRUCTIONS if is_conversational(env) else ANSWER_INSTRUCTIONS
  prompt = env.system_prompt.strip()
  return {"role": "system", "content": f"{prompt}\n\n{instructions}" if prompt else instructions}


def reset_for_task(env: Environment, task: Task, user_factory: UserFactory | None = None) -> str:
  """Resets `env` for `task`; returns the user's first message (what the agent reads first)."""
  if is_conversational(env):
    kwargs: dict[str, Any] = {}
    if user_factory is not None:
      kwargs["user"] = user_factory(task)
    if isinstance(task, BenchmarkTask):
      # With the task, the scripted user knows the gold outcome and says ###STOP### once reached.
      return env.reset(task=task, **kwargs)
    return env.reset(instruction=task.instruction, **kwargs)
  if isinstance(task, CodeAsTask):
    # As tasks/replay.py resets it, so the executor starts from the state the filter checked.
    return env.reset(seed=task.env_kwargs.get("seed"), instruction=task.instruction)
  return env.reset(instruction=task.instruction)


def make_task_env(task: Task, user_factory: UserFactory | None = None) -> tuple[Environment, str]:
  """A fresh environment for `task`, reset; and the user's first message."""
  env = envs.make(task.env, **task.env_kwargs)
  first = reset_for_task(env, task, user_factory)
  if not first.strip():
    # An empty opening would render an empty user turn; the instruction is the best stand-in
    # for calculation / web tasks, and a tau user that says nothing still needs a turn.
    first = task.instruction if not is_conversational(env) else "Hi."
  return env, first


def opening_messages(env: Environment, first_user_message: str) -> list[dict[str, str]]:
  return [system_message(env), {"role": "user", "content": first_user_message}]


def executor_spec(task: Task, *, stream_id: int, tag: Any = None,
                  user_factory: UserFactory | None = None) -> EpisodeSpec:
  """An EpisodeSpec for one executor attempt at `task` (tag defaults to the task id)."""
  env, first = make_task_env(task, user_factory)
  return EpisodeSpec(env=env, messages=opening_messages(env, first), tools=list(env.tools),
                     stream_id=stream_id, tag=task.task_id if tag is None else tag)
