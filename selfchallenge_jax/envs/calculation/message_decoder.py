"""Message decoder tools (M3ToolEval `message_decoder`): hex, reversal and Caesar-cipher decoding."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs.base import ToolError
from selfchallenge_jax.envs.calculation.toolspec import INTEGER, STRING, Tool, make_tool

FAMILY = "message_decoder"


def convert_hex_to_ascii(hex_string: str) -> str:
  # Like M3ToolEval: UTF-8 decoding, ValueError (shown as an Error observation) on bad hex.
  return bytes.fromhex(hex_string).decode("utf-8")


def reverse_string(string: str) -> str:
  return string[::-1]


def caesar_decode(message: str, shift: int) -> str:
  """Shifts letters back by `shift`; M3ToolEval's rule, including its treatment of any character
  for which str.isupper()/islower() holds as if it were an ASCII letter."""
  out = []
  for char in message:
    if char.isupper():
      base = ord("A")
    elif char.islower():
      base = ord("a")
    else:
      out.append(char)
      continue
    out.append(chr((ord(char) - shift - base) % 26 + base))
  return "".join(out)


def caesar_encode(message: str, shift: int) -> str:
  """The inverse of caesar_decode on ASCII letters; used to build tasks, not offered as a tool."""
  return caesar_decode(message, -shift)


def string_length(string: str) -> int:
  return len(string)


def _values(args: Any) -> list[Any]:
  if not isinstance(args, list) or not args:
    raise ToolError("args must be a non-empty list of values.")
  return args


def minimum_value(args: list[Any]) -> Any:
  return min(_values(args))


def maximum_value(args: list[Any]) -> Any:
  return max(_values(args))


_VALUES = {"type": "array", "items": {"type": ["number", "string"]},
           "description": "the values to compare (M3ToolEval's *args)"}

TOOLS: tuple[Tool, ...] = (
    make_tool(convert_hex_to_ascii, "convert_hex_to_ascii",
              "Converts a hexadecimal string to ASCII. Signature: "
              "convert_hex_to_ascii(hex_string: str) -> str", {"hex_string": STRING}),
    make_tool(reverse_string, "reverse_string",
              "Reverses a string. Signature: reverse_string(string: str) -> str",
              {"string": STRING}),
    make_tool(caesar_decode, "caesar_decode",
              "Decodes a string using the Caesar cipher. Signature: "
              "caesar_decode(message: str, shift: int) -> str",
              {"message": STRING, "shift": INTEGER}),
    make_tool(string_length, "string_length",
              "Finds the length of a string. Signature: string_length(string: str) -> int",
              {"string": STRING}),
    make_tool(minimum_value, "minimum_value",
              "Finds the minimum value from given arguments. Signature: "
              "minimum_value(*args) -> int/float", {"args": _VALUES}),
    make_tool(maximum_value, "maximum_value",
              "Finds the maximum value from given arguments. Signature: "
              "maximum_value(*args) -> int/float", {"args": _VALUES}),
)
