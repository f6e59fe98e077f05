"""The scripted expert: solves a task by calling a real environment, recording the calls.

Generators write the expert's plan in terms of tool calls; the expert runs each call on a fresh
environment and refuses Error observations, so the recorded solution is known to replay cleanly and
its final answer is derived from real observations, not from the generator's own computation.
`finish` then checks that answer against the independently computed expected value.
"""

from __future__ import annotations

import ast
from typing import Any

from selfchallenge_jax.envs.base import ERROR_PREFIX, Environment
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.answer_match import answer_matches


class ScriptedExpert:
  def __init__(self, env: Environment) -> None:
    self.env = env
    self.steps: list[dict[str, Any]] = []

  def call(self, name: str, **arguments: Any) -> str:
    """Runs one tool call and returns its observation text."""
    observation = self.env.call_tool(name, arguments)
    if observation.startswith(ERROR_PREFIX):
      raise RuntimeError(f"scripted expert's call {name}({arguments}) failed: {observation}")
    self.steps.append({"name": name, "arguments": arguments})
    return observation

  def value(self, name: str, **arguments: Any) -> Any:
    """Runs one tool call whose observation is a Python literal (number, list, dict, ...)."""
    return ast.literal_eval(self.call(name, **arguments))

  def finish(self, answer: Any, expected: str, task_id: str, env_name: str,
             env_kwargs: dict[str, Any], instruction: str) -> BenchmarkTask:
    """Appends the final respond action and builds the task, after checking the answer."""
    content = f"Answer: {answer}"
    if not answer_matches(content, expected):
      raise RuntimeError(f"{task_id}: scripted answer {answer!r} does not match {expected!r}")
    self.env.respond(content)
    steps = tuple(self.steps) + ({"name": "respond", "arguments": {"content": content}},)
    return BenchmarkTask(task_id=task_id, env=env_name, env_kwargs=dict(env_kwargs),
                         instruction=instruction, expected_answer=expected, solution=steps)


def replay(env: Environment, task: BenchmarkTask) -> list[str]:
  """Runs a task's solution on `env` (already reset); returns the observations and replies."""
  outputs = []
  for step in task.solution:
    if step["name"] == "respond":
      outputs.append(env.respond(step["arguments"]["content"]))
    else:
      outputs.append(env.call_tool(step["name"], step["arguments"]))
  return outputs
