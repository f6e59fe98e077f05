"""Trade calculator tools (M3ToolEval `trade_calculator`), incl. the safe `calculator`."""

from __future__ import annotations

from selfchallenge_jax.envs.base import ToolError
from selfchallenge_jax.envs.calculation import safe_arithmetic
from selfchallenge_jax.envs.calculation.toolspec import (NUMBER, NUMBER_ARRAY, STRING, Tool,
                                                         make_tool, number_list)

FAMILY = "trade_calculator"
Number = int | float


def convert_currency(base_price: Number, conversion_rate: Number) -> Number:
  return base_price * conversion_rate


def calculate_tariff(price: Number, tariff_rate: Number) -> Number:
  return price * tariff_rate / 100


def estimate_final_value(price: Number, tariff: Number) -> Number:
  return price + tariff


def calculator(expression: str) -> Number:
  """M3ToolEval evaluates with eval and returns "Failed to evaluate expression: ..." on failure;
  here the same text is an Error observation, with the reason, and only arithmetic is evaluated."""
  try:
    return safe_arithmetic.evaluate(expression)
  except safe_arithmetic.ExpressionError as e:
    raise ToolError(f"Failed to evaluate expression: {expression} ({e})") from None


def find_minimum(args: list[Number]) -> Number:
  return min(number_list(args))


def find_maximum(args: list[Number]) -> Number:
  return max(number_list(args))


CALCULATOR_TOOL = make_tool(
    calculator, "calculator",
    'Evaluates the given expression and returns the result. Accepts a calculation expression as '
    'input. For example, "2 + (3 * 4)" will return 14. Signature: calculator(expression: str) -> float',
    {"expression": STRING})

TOOLS: tuple[Tool, ...] = (
    make_tool(convert_currency, "convert_currency",
              "Converts the commodity price to local currency. Signature: "
              "convert_currency(base_price: float, conversion_rate: float) -> float",
              {"base_price": NUMBER, "conversion_rate": NUMBER}),
    make_tool(calculate_tariff, "calculate_tariff",
              "Calculates the trade tariff based on the converted price (tariff_rate in %). "
              "Signature: calculate_tariff(price: float, tariff_rate: float) -> float",
              {"price": NUMBER, "tariff_rate": NUMBER}),
    make_tool(estimate_final_value, "estimate_final_value",
              "Estimates the final trade value including the tariff. Signature: "
              "estimate_final_value(price: float, tariff: float) -> float",
              {"price": NUMBER, "tariff": NUMBER}),
    CALCULATOR_TOOL,
    make_tool(find_minimum, "find_minimum",
              "Finds the minimum value among the given arguments. Signature: "
              "find_minimum(*args: float) -> float", {"args": NUMBER_ARRAY}),
    make_tool(find_maximum, "find_maximum",
              "Finds the maximum value among the given arguments. Signature: "
              "find_maximum(*args: float) -> float", {"args": NUMBER_ARRAY}),
)
