"""The Calculation environment: M3ToolEval's message decoder, DNA sequencer, trade calculator and
travel itinerary tools behind the `Environment` contract.

    env = envs.make("calculation")                                  # all 24 tools
    env = envs.make("calculation", family="dna_sequencer")          # one family, as in M3ToolEval
    env = envs.make("calculation", family=["message_decoder", "trade_calculator"])
    env = envs.make("calculation", family="travel_itinerary_planning", data_path="tables.json")
    env.reset(instruction="Reverse the string 'abc'.")              # returns the instruction
    env.call_tool("reverse_string", {"string": "abc"})              # -> "cba"
    env.respond("Answer: cba"); answer_matches(env.answer, "cba")   # -> True

Tool observations are M3ToolEval's text (`str()` of the result, cut at 2000 characters). Variadic
M3ToolEval tools (minimum_value(*args), find_max_nucleotide(*args), max/min/sum(*args),
book_hotel(location, *preferences)) take their variadic part as one list argument ("args",
"preferences"), since tool calls carry named JSON arguments.

`seed` selects the generated flight/hotel tables of the travel family (ignored with `data_path`);
the other families have no hidden data. `data_path` is read at construction, so a missing or
malformed file fails at envs.make time.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from selfchallenge_jax.envs.base import Environment
from selfchallenge_jax.envs.calculation import (dna_sequencer, message_decoder, trade_calculator,
                                                travel_itinerary)
from selfchallenge_jax.envs.calculation.families import ALL, resolve_families
from selfchallenge_jax.envs.calculation.toolspec import Tool
from selfchallenge_jax.envs.calculation.travel_data import (TravelData, generate_travel_data,
                                                            load_travel_data)

#: M3ToolEval's closing instructions, given to the agent as its system prompt.
ANSWER_FORMAT_PROMPT = (
    "Use the tools to solve the user's task. When you are done, output the result using "
    "'Answer: your answer'. Please ONLY output the answer (e.g., single number), without any "
    "other text.")

_STATIC_TOOLS = {
    message_decoder.FAMILY: message_decoder.TOOLS,
    dna_sequencer.FAMILY: dna_sequencer.TOOLS,
    trade_calculator.FAMILY: trade_calculator.TOOLS,
}


class CalculationEnv(Environment):
  name = "calculation"

  def __init__(self, family: str | Sequence[str] = ALL, seed: int = 0,
               data_path: str | None = None, instruction: str = "") -> None:
    super().__init__()
    self.families = resolve_families(family)
    self.data_path = None if data_path is None else str(data_path)
    # Loaded once, here, so a bad path fails at make time rather than at the first tool call.
    self._loaded_data = None if data_path is None else load_travel_data(data_path)
    self.seed = seed
    self.instruction = instruction
    self.reset(seed=seed, instruction=instruction)

  # ---- contract -----------------------------------------------------------------------------
  def reset(self, seed: int | None = None, instruction: str | None = None, **kwargs: Any) -> str:
    if kwargs:
      raise TypeError(f"unexpected reset arguments: {', '.join(kwargs)}")
    if seed is not None:
      self.seed = seed
    if instruction is not None:
      self.instruction = instruction
    self.done, self.answer, self.actions = False, None, []
    self.agency: travel_itinerary.TravelAgency | None = None
    tools: list[Tool] = []
    for family in self.families:
      if family == travel_itinerary.FAMILY:
        self.agency = travel_itinerary.TravelAgency(self.travel_data())
        tools.extend(self.agency.tools())
      else:
        tools.extend(_STATIC_TOOLS[family])
    self._tools = {tool.name: tool for tool in tools}
    return self.instruction

  def travel_data(self) -> TravelData:
    """The flight/hotel tables this environment uses (loaded, or generated from the seed)."""
    return self._loaded_data or generate_travel_data(self.seed)

  @property
  def tools(self) -> list[dict[str, Any]]:
    return [tool.schema for tool in self._tools.values()]

  @property
  def system_prompt(self) -> str:
    return ANSWER_FORMAT_PROMPT

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    return {name: tool.function for name, tool in self._tools.items()}

  def state(self) -> dict[str, Any]:
    return {
        "env": self.name,
        "families": list(self.families),
        "seed": self.seed,
        "data_path": self.data_path,
        "instruction": self.instruction,
        "tool_calls": [{"name": a["name"], "arguments": a["arguments"],
                        "observation": a["observation"]}
                       for a in self.actions if a["kind"] == "tool"],
        "flight_searches": list(self.agency.flight_searches) if self.agency else [],
        "hotel_bookings": list(self.agency.hotel_bookings) if self.agency else [],
        "answer": self.answer,
        "done": self.done,
    }
