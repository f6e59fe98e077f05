"""A trivial environment: no tools; the agent's reply is its answer and ends the episode.

For smoke tests and the learning test, where the verifier rewards a target answer.
"""

from __future__ import annotations

from typing import Any, Callable

from selfchallenge_jax.envs.base import Environment


class EchoEnv(Environment):
  name = "echo"

  def __init__(self, seed: int = 0, instruction: str = "Reply."):
    super().__init__()
    self.seed, self.instruction = seed, instruction

  @property
  def tools(self) -> list[dict[str, Any]]:
    return []

  def reset(self, seed: int | None = None, instruction: str | None = None, **kwargs: Any) -> str:
    self.__init__(self.seed if seed is None else seed, instruction or self.instruction)
    return self.instruction

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    return {}

  def state(self) -> dict[str, Any]:
    return {"seed": self.seed, "instruction": self.instruction, "answer": self.answer}
