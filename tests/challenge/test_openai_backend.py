"""OpenAIChallengerBackend against a scripted local /chat/completions server (127.0.0.1, no network)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selfchallenge_jax.challenge import (OpenAIChallengerBackend, good_task_script,
                                         make_challenger_env, run_challenge)
from selfchallenge_jax.challenge.backends import ChallengeRequest


class Server:
  """Serves scripted assistant messages in order and records every request body."""

  def __init__(self, replies):
    self.replies, self.requests = list(replies), []
    outer = self

    class Handler(BaseHTTPRequestHandler):
      def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        outer.requests.append((self.path, body))
        reply = outer.replies.pop(0)
        data = reply if isinstance(reply, bytes) else json.dumps(
            {"choices": [{"message": reply}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def log_message(self, *args):
        pass

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

  def __enter__(self):
    self.thread.start()
    return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

  def __exit__(self, *exc):
    self.httpd.shutdown()
    self.httpd.server_close()


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
  path, first = server.requests[0]
  assert path == "/v1/chat/completions" and first["model"] == "m"
  assert {t["function"]["name"] for t in first["tools"]} >= {"view", "click_url"}
  assert [m["role"] for m in first["messages"]] == ["system", "user"]
  _, last = server.requests[-1]
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
  _, second = server.requests[1]
  assert second["messages"][-1]["role"] == "user" and "email" in second["messages"][-1]["content"]
  assert out.text is None and out.end_reason.startswith("backend_error: ")
  with Server([]) as url:
    pass   # the server is gone: connection refused
  [out] = OpenAIChallengerBackend(url, model="m", timeout_s=5).generate(
      [ChallengeRequest("calculation", 0, 0)], seed=0)
  assert out.text is None and out.end_reason.startswith("backend_error: ")
