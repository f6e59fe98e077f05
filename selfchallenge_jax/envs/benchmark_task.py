"""Benchmark tasks: the held-out test instances of an environment family, with their scripted expert.

A benchmark task is what evaluation scores and what scripted demonstrations solve. It is not a
Code-as-Task record (that is model-written and carries its own verifier; see selfchallenge_jax/tasks).
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class BenchmarkTask:
  task_id: str
  env: str                                   # registry name for envs.make
  env_kwargs: dict[str, Any]                 # passed to envs.make (seed, family, data_dir, ...)
  instruction: str                           # what the user asks (tau-bench: the user's instruction)
  # Calculation / web browsing: the final answer is compared with expected_answer.
  expected_answer: str | None = None
  # The expected value as the benchmark file typed it (int, float, list, str...), when loaded from
  # one: M3ToolEval's own answer check depends on the type (scoring.py, answer_check="m3tooleval").
  expected_value: Any = None
  # Retail / airline (tau-bench layout): the gold actions and outputs the reward compares against.
  gold_actions: tuple[dict[str, Any], ...] = ()     # ({"name": tool, "arguments": {...}}, ...)
  required_outputs: tuple[str, ...] = ()
  # A scripted expert's action sequence that solves the task, for demonstrations:
  # ({"name": tool, "arguments": {...}} | {"name": "respond", "arguments": {"content": str}}, ...)
  solution: tuple[dict[str, Any], ...] = ()

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, d: dict[str, Any]) -> "BenchmarkTask":
    d = dict(d)
    for key in ("gold_actions", "required_outputs", "solution"):
      d[key] = tuple(d.get(key, ()))
    return cls(**d)
