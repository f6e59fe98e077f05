"""The turns of an endpoint-driven episode (rollout/endpoint_turns.py), with a scripted `complete`
in place of the HTTP endpoint: replies are read as the engine reads a policy's sampled text."""

import json

from selfchallenge_jax.envs.base import Environment
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.endpoint_agent import EndpointAgent
from selfchallenge_jax.rollout.endpoint_turns import BACKEND_ERROR, run_turns
from selfchallenge_jax.tokenizer.tool_calls import format_tool_call


class Shop(Environment):
  """One tool; messages go to a user who stops at "bye" (and breaks down at "crash")."""
  name = "shop"

  @property
  def tools(self):
    return [{"type": "function", "function": {"name": "add", "parameters": {
        "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}}]

  def reset(self, seed=None, **kwargs):
    self.done, self.answer, self.actions = False, None, []
    return "hi"

  def _tool_functions(self):
    return {"add": lambda a, b: str(a + b)}

  def state(self):
    return {}

  def _on_respond(self, content):
    if content == "crash":
      raise RuntimeError("user endpoint down")
    self.answer = content
    self.done = content == "bye"
    return f"you said {content}"


def call(name, arguments, i=0):
  return {"id": f"id{i}", "type": "function",
          "function": {"name": name, "arguments": json.dumps(arguments)}}


class Script:
  def __init__(self, replies):
    self.replies, self.requests = list(replies), []

  def __call__(self, messages, **fields):
    self.requests.append((json.loads(json.dumps(messages)), fields))
    reply = self.replies.pop(0)
    if isinstance(reply, Exception):
      raise reply
    return reply


def _run(replies, max_turns=8):
  env, script = Shop(), Script(replies)
  env.reset()
  messages = [{"role": "user", "content": "hi"}]
  reason = run_turns(script, env, messages, max_turns=max_turns, tools=env.tools, seed=10,
                     max_tokens=5)
  return reason, env, messages, script


def test_one_call_per_turn_text_calls_and_user_replies():
  reason, env, messages, script = _run([
      {"role": "assistant", "content": None,
       "tool_calls": [call("add", {"a": 1, "b": 2}), call("add", {"a": 5, "b": 5}, 1)]},
      {"role": "assistant", "content": format_tool_call("add", {"a": 2, "b": 2})},
      {"role": "assistant", "content": "  hello  "},
      {"role": "assistant", "content": "bye"}])
  assert reason == ep.ENV_DONE and env.answer == "bye"
  # Only the first of two calls ran, and only it stays in the history (with its id); a JSON call
  # written as text ran too, recorded as a tool_calls message; text went to the user.
  assert [(a["kind"], a.get("observation")) for a in env.actions] == [
      ("tool", "3"), ("tool", "4"), ("respond", None), ("respond", None)]
  assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool",
                                           "assistant", "user", "assistant"]
  assert len(messages[1]["tool_calls"]) == 1 and messages[2]["tool_call_id"] == "id0"
  assert messages[3]["tool_calls"][0]["function"]["name"] == "add"
  assert messages[4]["tool_call_id"] == messages[3]["tool_calls"][0]["id"]
  assert env.actions[2]["content"] == "hello" and messages[6]["content"] == "you said hello"
  # Every request carried the tools, the fields and the turn's seed.
  assert [f["seed"] for _, f in script.requests] == [10, 11, 12, 13]
  assert all(f["tools"] == env.tools and f["max_tokens"] == 5 for _, f in script.requests)


def test_end_reasons():
  assert _run([{"role": "assistant", "content": "more"}] * 2, max_turns=2)[0] == ep.MAX_TURNS
  reason = _run([ConnectionError("gave up")])[0]
  assert reason == f"{BACKEND_ERROR}: ConnectionError: gave up"
  assert _run(["not a message"])[0].startswith(f"{BACKEND_ERROR}: ")
  assert _run([{"role": "assistant", "tool_calls": [{"id": "x"}]}])[0].startswith(
      f"{BACKEND_ERROR}: ")
  assert _run([{"role": "assistant", "content": "crash"}])[0] == (
      f"{ep.ENV_ERROR}: RuntimeError: user endpoint down")


class FakeChat:
  """EndpointChat's complete(): a Shop episode that says bye after one tool call."""

  def complete(self, messages, **fields):
    if messages[-1]["role"] == "tool":
      return {"role": "assistant", "content": "bye"}
    return {"role": "assistant", "content": format_tool_call("add", {"a": 1, "b": 1})}


def test_agent_runs_specs_in_order_with_the_engines_interface():
  envs_ = [Shop() for _ in range(5)]
  specs = [ep.EpisodeSpec(env=e, messages=[{"role": "user", "content": e.reset()}],
                          tools=e.tools, stream_id=i, tag=i) for i, e in enumerate(envs_)]
  ended = []
  agent = EndpointAgent(FakeChat(), max_turns=4, concurrency=3)
  try:
    episodes = agent.run(specs, seed=1, on_episode_end=lambda i, e: ended.append(i))
  finally:
    agent.close()
  assert [e.tag for e in episodes] == list(range(5)) and sorted(ended) == list(range(5))
  for e in episodes:
    assert e.end_reason == ep.ENV_DONE and e.answer == "bye" and e.num_turns == 2
    assert e.tokens == [] and [m["role"] for m in e.messages] == ["user", "assistant", "tool",
                                                                  "assistant"]
