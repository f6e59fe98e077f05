"""parse_assistant: JSON tool calls in the forms Llama models write them; everything else is text."""

from __future__ import annotations

import pytest

from selfchallenge_jax.tokenizer import ToolCall, format_tool_call, parse_assistant

CALL = ToolCall("get_weather", {"city": "Paris", "days": 2})


@pytest.mark.parametrize("text", [
    '{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}',
    '  {"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}\n',
    '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}',
    '<|python_tag|> {"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}<|eom_id|>',
    '{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}<|eot_id|>',
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}',
    '{"name": "get_weather", "parameters": "{\\"city\\": \\"Paris\\", \\"days\\": 2}"}',
    '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris", "days": 2}}',
    '```json\n{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}\n```',
    '{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}; {"name": "x", "parameters": {}}',
])
def test_recognizes_tool_calls(text):
  assert parse_assistant(text) == CALL


@pytest.mark.parametrize("text, expected", [
    ("The answer is 42.", "The answer is 42."),
    ("  The answer is 42.<|eot_id|>", "The answer is 42."),
    ('I will call {"name": "get_weather", "parameters": {}} now', None),
    ('{"name": "get_weather", "parameters": {"city": "Paris"}} and then more text', None),
    ('{"name": "get_weather", "parameters": {"city": "Par', None),  # truncated JSON
    ('{"name": "get_weather"}', None),  # no parameters: not a call
    ('{"name": "Bob", "age": 3}', None),  # some other JSON object
    ('{"name": "", "parameters": {}}', None),
    ('{"name": "f", "parameters": [1, 2]}', None),
    ("[1, 2, 3]", None),
    ("", ""),
])
def test_everything_else_is_text(text, expected):
  result = parse_assistant(text)
  assert isinstance(result, str)
  assert result == (expected if expected is not None else text.strip())


def test_format_round_trips_through_parse():
  text = format_tool_call("reverse", {"s": "héllo \"q\"", "n": [1, {"k": None}]})
  assert text == '{"name": "reverse", "parameters": {"s": "héllo \\"q\\"", "n": [1, {"k": null}]}}'
  assert parse_assistant(text) == ToolCall("reverse", {"s": "héllo \"q\"", "n": [1, {"k": None}]})
