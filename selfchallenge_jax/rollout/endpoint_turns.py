"""The turns of an episode whose assistant is a model behind an OpenAI-compatible endpoint, read the
way RolloutEngine reads its own policy's turns, so an API model and a checkpoint act in the same
conversation (the endpoint challenger and the endpoint executor both run here).

    reason = run_turns(chat.complete, env, messages, tools=env.tools, max_turns=8, seed=7)

Each turn sends the conversation so far (and the tools) and applies the assistant message:
- `tool_calls`: the first call runs in the environment and its result goes back as a "tool"
  message. One call per turn, as our chat formats and tau-bench's tool-calling agent do: later
  calls are dropped from the recorded message, so the history holds only what ran.
- content only: read by the chat formats' parser (tokenizer/tool_calls.parse_assistant), as the
  engine reads sampled text. A reply that is one JSON tool call runs as that call (recorded as a
  `tool_calls` message: OpenAI servers refuse a "tool" message after plain content); any other
  text goes to env.respond: the final answer, or a message to the simulated user, whose reply
  comes back as a "user" turn.
The episode ends when the environment is done (ENV_DONE) or after `max_turns` assistant turns
(MAX_TURNS), as in the engine. A request that fails (after EndpointChat's retries) or a reply of
the wrong shape ends it with "backend_error: <type>: <message>"; an environment that raises, with
"env_error: ..." as in the engine (a model-played user's endpoint failing shows up there).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from absl import logging

from selfchallenge_jax.envs.base import Environment
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.tokenizer.tool_calls import ToolCall, parse_assistant

BACKEND_ERROR = "backend_error"     # the assistant's endpoint failed or answered nonsense
#: messages, **request fields -> the assistant message (EndpointChat.complete).
Complete = Callable[..., dict[str, Any]]
# urllib's errors are OSErrors; a malformed payload shows up as the others.
_REQUEST_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError)


class _BadReply(ValueError):
  """The endpoint's message is not an assistant message we can act on."""


def run_turns(complete: Complete, env: Environment, messages: list[dict[str, Any]], *,
              max_turns: int, tools: list[dict[str, Any]] | None = None, seed: int | None = None,
              **fields: Any) -> str:
  """Runs the episode to its end, appending to `messages`; returns the end reason.

  seed: the request seed of the first turn (turn t sends seed + t); fields join every request
  (max_tokens, temperature, ...).
  """
  for turn in range(max_turns):
    request = dict(fields)
    if tools:
      request["tools"] = tools
    if seed is not None:
      request["seed"] = seed + turn
    try:
      action, recorded = _read(complete(messages, **request), turn)
    except _REQUEST_ERRORS as e:
      return f"{BACKEND_ERROR}: {type(e).__name__}: {e}"
    messages.append(recorded)
    try:
      if isinstance(action, ToolCall):
        observation = env.call_tool(action.name, action.arguments)
        messages.append({"role": "tool", "tool_call_id": recorded["tool_calls"][0]["id"],
                         "content": observation})
      else:
        reply = env.respond(action)
        if not env.done:
          messages.append({"role": "user", "content": reply})
    except Exception as e:  # pylint: disable=broad-except
      # As in the engine: an environment bug ends this episode, not the whole evaluation.
      logging.exception("environment step failed; ending the episode")
      return f"{ep.ENV_ERROR}: {type(e).__name__}: {e}"
    if env.done:
      return ep.ENV_DONE
  return ep.MAX_TURNS


def _read(message: Any, turn: int) -> tuple[ToolCall | str, dict[str, Any]]:
  """(what the env gets: a ToolCall or text, the assistant message to keep in the history)."""
  if not isinstance(message, dict):
    raise _BadReply(f"the assistant message is {type(message).__name__}, not an object")
  calls = message.get("tool_calls") or []
  if calls:
    call = calls[0]
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
      raise _BadReply(f"tool call without a function name: {str(call)[:200]}")
    # Arguments stay as sent (a JSON string, usually; env.call_tool takes either): the env
    # reports bad JSON as an "Error: ..." observation the model can read.
    call = {"id": str(call.get("id") or f"call_{turn}"), "type": "function",
            "function": {"name": function["name"], "arguments": function.get("arguments") or {}}}
    recorded = {"role": "assistant", "content": message.get("content") or "",
                "tool_calls": [call]}
    return ToolCall(function["name"], call["function"]["arguments"]), recorded
  content = message.get("content")
  if content is not None and not isinstance(content, str):
    raise _BadReply(f"the assistant content is {type(content).__name__}, not text")
  action = parse_assistant(content or "")
  if isinstance(action, ToolCall):
    call = {"id": f"call_{turn}", "type": "function",
            "function": {"name": action.name, "arguments": json.dumps(action.arguments)}}
    return action, {"role": "assistant", "content": "", "tool_calls": [call]}
  return action, {"role": "assistant", "content": content or ""}
