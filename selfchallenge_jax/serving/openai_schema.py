"""The OpenAI chat-completions wire format: request validation, responses, stream chunks, errors.

Only what a tool-using agent harness needs: messages (system / user / assistant with tool_calls /
tool), tools (function schemas), tool_choice auto | none, temperature, top_p, max_tokens
(max_completion_tokens), seed, stream, n = 1. Anything else that changes the output is refused
with a 400 rather than silently ignored.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

_ROLES = ("system", "user", "assistant", "tool")
#: Seeds are random-stream ids; the server numbers unseeded requests from MAX_SEED up.
MAX_SEED = 1 << 31
# Accepted and ignored: they do not change what is generated.
_IGNORED = frozenset({"user", "metadata", "store", "parallel_tool_calls", "stream_options",
                      "logprobs", "service_tier", "frequency_penalty", "presence_penalty"})
_FIELDS = frozenset({"model", "messages", "tools", "tool_choice", "temperature", "top_p",
                     "max_tokens", "max_completion_tokens", "seed", "stream", "n", "stop"})


class ApiError(Exception):
  """An OpenAI-style error: HTTP status, type, message, param, code."""

  def __init__(self, status: int, message: str, *, param: str | None = None,
               code: str | None = None, kind: str = "invalid_request_error"):
    super().__init__(message)
    self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

  def body(self) -> dict[str, Any]:
    return {"error": {"message": self.message, "type": self.kind, "param": self.param,
                      "code": self.code}}


@dataclasses.dataclass
class ChatRequest:
  model: str
  messages: list[dict[str, Any]]
  tools: list[dict[str, Any]]
  temperature: float
  top_p: float
  max_tokens: int
  seed: int | None
  stream: bool


def parse_request(body: Any, *, model: str, max_tokens_limit: int,
                  default_temperature: float = 1.0) -> ChatRequest:
  """Validates a /v1/chat/completions body; ApiError(400/404) naming the bad field."""
  if not isinstance(body, dict):
    raise ApiError(400, "the request body must be a JSON object")
  unknown = sorted(set(body) - _FIELDS - _IGNORED)
  if unknown:
    raise ApiError(400, f"unsupported parameter(s): {', '.join(unknown)}", param=unknown[0])
  if body.get("model") != model:
    raise ApiError(404, f"The model '{body.get('model')}' does not exist; this server serves "
                   f"'{model}'", param="model", code="model_not_found")
  if body.get("n", 1) != 1:
    raise ApiError(400, "only n=1 is supported", param="n")
  if body.get("stop") not in (None, [], ""):
    raise ApiError(400, "stop sequences are not supported; the model's own end of turn stops it",
                   param="stop")
  messages = body.get("messages")
  if not isinstance(messages, list) or not messages:
    raise ApiError(400, "messages must be a non-empty list", param="messages")
  for i, message in enumerate(messages):
    _check_message(message, f"messages[{i}]")
  tools = body.get("tools") or []
  if not isinstance(tools, list):
    raise ApiError(400, "tools must be a list", param="tools")
  for i, tool in enumerate(tools):
    _check_tool(tool, f"tools[{i}]")
  choice = body.get("tool_choice", "auto")
  if choice not in ("auto", "none"):
    raise ApiError(400, "tool_choice must be 'auto' or 'none'", param="tool_choice")
  if choice == "none":
    tools = []
  temperature = _number(body, "temperature", default_temperature, 0.0, 2.0)
  top_p = _number(body, "top_p", 1.0, 0.0, 1.0)
  if top_p <= 0.0:
    raise ApiError(400, "top_p must be > 0", param="top_p")
  limit = body.get("max_completion_tokens", body.get("max_tokens"))
  if limit is None:
    limit = max_tokens_limit
  if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_tokens_limit:
    raise ApiError(400, f"max_tokens must be an integer in [1, {max_tokens_limit}]",
                   param="max_tokens")
  seed = body.get("seed")
  if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                           or not 0 <= seed < MAX_SEED):
    raise ApiError(400, f"seed must be an integer in [0, {MAX_SEED})", param="seed")
  stream = body.get("stream", False)
  if not isinstance(stream, bool):
    raise ApiError(400, "stream must be a boolean", param="stream")
  return ChatRequest(model, [_normalise(m) for m in messages], tools, temperature, top_p, limit,
                     seed, stream)


def _number(body: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
  value = body.get(name)
  if value is None:
    return default
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
    raise ApiError(400, f"{name} must be a number in [{low}, {high}]", param=name)
  return float(value)


def _check_message(message: Any, where: str) -> None:
  if not isinstance(message, dict) or message.get("role") not in _ROLES:
    raise ApiError(400, f"{where}: each message needs a role in {_ROLES}", param=where)
  content = message.get("content")
  if message["role"] == "assistant" and message.get("tool_calls"):
    calls = message["tool_calls"]
    if not isinstance(calls, list) or len(calls) != 1:
      raise ApiError(400, f"{where}: one tool call per assistant message is supported",
                     param=where)
    function = calls[0].get("function") if isinstance(calls[0], dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
      raise ApiError(400, f"{where}: a tool call needs function.name", param=where)
    arguments = function.get("arguments", "{}")
    try:
      parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
      raise ApiError(400, f"{where}: tool call arguments are not JSON", param=where) from None
    if not isinstance(parsed, dict):
      raise ApiError(400, f"{where}: tool call arguments must be a JSON object", param=where)
    return
  if isinstance(content, list):          # content parts: text only
    if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
               for p in content):
      raise ApiError(400, f"{where}: only text content parts are supported", param=where)
    return
  if not isinstance(content, str):
    raise ApiError(400, f"{where}: content must be a string", param=where)


def _check_tool(tool: Any, where: str) -> None:
  function = tool.get("function") if isinstance(tool, dict) else None
  if (not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict)
      or not isinstance(function.get("name"), str) or not function["name"]):
    raise ApiError(400, f"{where}: a tool is {{'type': 'function', 'function': {{'name': ..., "
                   "'parameters': {...}}}}", param=where)
  parameters = function.get("parameters", {})
  properties = parameters.get("properties", {}) if isinstance(parameters, dict) else None
  if not isinstance(properties, dict) or not all(isinstance(v, dict) for v in properties.values()):
    raise ApiError(400, f"{where}: function.parameters must be a JSON schema object whose "
                   "properties are schemas", param=where)


def _normalise(message: dict[str, Any]) -> dict[str, Any]:
  """Our chat formats' message layout: text parts joined, tool-call arguments parsed."""
  message = dict(message)
  content = message.get("content")
  if isinstance(content, list):
    message["content"] = "".join(p["text"] for p in content)
  elif content is None:
    message["content"] = ""
  if message["role"] == "assistant" and message.get("tool_calls"):
    call = message["tool_calls"][0]["function"]
    arguments = call.get("arguments", "{}")
    message["tool_calls"] = [{"type": "function", "function": {
        "name": call["name"],
        "arguments": json.loads(arguments) if isinstance(arguments, str) else arguments}}]
  return {k: v for k, v in message.items() if k in ("role", "content", "tool_calls")}


# ---- responses ----------------------------------------------------------------------------------
def completion_id() -> str:
  return "chatcmpl-" + uuid.uuid4().hex[:24]


def tool_call_json(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
  return {"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
          "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}


def completion(request_id: str, model: str, message: dict[str, Any], finish_reason: str,
               prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
  return {"id": request_id, "object": "chat.completion", "created": int(time.time()),
          "model": model, "choices": [{"index": 0, "message": message, "logprobs": None,
                                       "finish_reason": finish_reason}],
          "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens}}


def chunk(request_id: str, model: str, delta: dict[str, Any],
          finish_reason: str | None = None) -> dict[str, Any]:
  return {"id": request_id, "object": "chat.completion.chunk", "created": int(time.time()),
          "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                       "finish_reason": finish_reason}]}


def model_object(model: str, created: int) -> dict[str, Any]:
  return {"id": model, "object": "model", "created": created, "owned_by": "selfchallenge_jax"}


def models_list(model: str, created: int) -> dict[str, Any]:
  return {"object": "list", "data": [model_object(model, created)]}
