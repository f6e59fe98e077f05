"""What the retail and airline benchmark generators share: actions, and how a task and its
scripted expert are assembled from the looked-up facts (greet, look up, then confirm and write, or
answer)."""

from __future__ import annotations

from typing import Any, Sequence

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask

Call = dict[str, Any]


def call(name: str, **arguments: Any) -> Call:
  return {"name": name, "arguments": arguments}


def say(content: str) -> Call:
  return call("respond", content=content)


def expert_task(*, env: str, task_id: str, db_seed: int, instruction: str, greeting: str,
                gold: Sequence[Call], write: Call | None, message: str,
                outputs: Sequence[str]) -> BenchmarkTask:
  """gold: the look-ups; write: the one database write (None for a question) the user confirms."""
  gold = list(gold)
  solution = [say(greeting), *gold]
  if write is not None:
    gold.append(write)
    solution += [say(f"{message} Do you confirm (yes/no)?"), write,
                 say("Done. Is there anything else I can help you with?")]
  else:
    solution.append(say(message))
  return BenchmarkTask(task_id=task_id, env=env, env_kwargs={"seed": db_seed},
                       instruction=instruction, gold_actions=tuple(gold),
                       required_outputs=tuple(outputs), solution=tuple(solution))
