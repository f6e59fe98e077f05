"""OpenAIChallengerBackend against a scripted local /chat/completions server (127.0.0.1, no network)."""

import json

from selfchallenge_jax.challenge import (OpenAIChallengerBackend, good_task_script,
                                         make_challenger_env, run_challenge)
from selfchallenge_jax.challenge.backends import ChallengeRequest

from endpoint_double import ScriptedEndpoint


def Server(replies):
  """Serves scripted assistant messages (or raw bytes) in order; records every request."""
  queue = list(replies)
  return ScriptedEndpoint(lambda body: queue.pop(0), model="m")


def tool_call(name, arguments, i=0):
  return {"role": "assistant", "content": None, "tool_calls": [
      {"id": f"call_{i}", "type": "function",
       "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def test_tool_calls_run_in_the_env_and_the_task_is_kept(pool):
  exploration, text = good_task_script(ChallengeRequest("web_browsing", 5, 0))
  replies = [tool_call(a["name"], a["arguments"], i) for i, a in enumerate(exploration)]
  replies.append({"role": "assistant", "content": text})
  with Server(replies) as url:
    backend = OpenAIChallengerBackend(url, model="test-model", temperature=0.5)
    stats = run_challenge(backend, ["web_browsing"], 1, pool=pool, seed=5)
  assert [r.reason for r in stats.records] == ["kept"]
  assert stats.records[0].provenance["num_tool_calls"] == len(exploration)
  assert stats.records[0].provenance["backend"] == "openai"


def test_request_layout_and_observations_fed_back():
  replies = [tool_call("view", {}), tool_call("click_url", {"url": "/nowhere"}, 1),
             {"role": "assistant", "content": "<task>not finished"}]
  server = Server(replies)
  with server as url:
    backend = OpenAIChallengerBackend(url, model="m", api_key="k")
    [out] = backend.generate([ChallengeRequest("web_browsing", 0, 0)], seed=0)
  assert out.text == "<task>not finished" and out.ended_by == "task" and out.num_tool_calls == 2
  first = server.requests[0]
  assert server.paths[0] == "/v1/chat/completions" and first["model"] == "m"
  assert {t["function"]["name"] for t in first["tools"]} >= {"view", "click_url"}
  assert [m["role"] for m in first["messages"]] == ["system", "user"]
  last = server.requests[-1]
  roles = [m["role"] for m in last["messages"]]
  assert roles == ["system", "user", "assistant", "tool", "assistant", "tool"]
  # The real observations went back to the model: the same as a fresh environment gives.
  env, _ = make_challenger_env("web_browsing", 0)
  assert last["messages"][3]["content"] == env.call_tool("view", {})
  assert last["messages"][5]["content"] == env.call_tool("click_url", {"url": "/nowhere"})
  assert last["messages"][3]["tool_call_id"] == "call_0"


def test_conversation_with_the_simulated_user_and_backend_errors():
  replies = [{"role": "assistant", "content": "Hello, what is your email?"},
             {"role": "assistant", "content": "thanks"}, b"not json"]
  server = Server(replies)
  with server as url:
    [out] = OpenAIChallengerBackend(url, model="m").generate(
        [ChallengeRequest("retail", 1, 0)], seed=0)
  # Messages without <task> went to the simulated user, whose reply came back as a user turn.
  second = server.requests[1]
  assert second["messages"][-1]["role"] == "user" and "email" in second["messages"][-1]["content"]
  assert out.text is None and out.end_reason.startswith("backend_error: ")
  with Server([]) as url:
    pass   # the server is gone: connection refused
  [out] = OpenAIChallengerBackend(url, model="m", timeout_s=5).generate(
      [ChallengeRequest("calculation", 0, 0)], seed=0)
  assert out.text is None and out.end_reason.startswith("backend_error: ")
