"""The simulated user's endpoint client against local HTTP servers: the request it sends, retries
with backoff through a server that drops 20% of requests, giving up (and saying so), bad URLs."""

import http.server
import json
import random
import socket
import threading

import pytest

from selfchallenge_jax.envs.simulated_user import STOP_MARKER, ModelUser
from selfchallenge_jax.envs.user_endpoint import EndpointChat, UserEndpointError


class _Server:
  """A chat-completions server; `behaviour(n)` for the n-th request: "ok", "drop", "500", "400"."""

  def __init__(self, behaviour):
    received, lock = [], threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
      def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": "tiny"}]})

      def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
          n = len(received)
          received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                           "body": body})
        what = behaviour(n)
        if what == "drop":                  # close the connection without an answer
          self.connection.shutdown(socket.SHUT_RDWR)
          return
        if what in ("500", "400"):
          self._send(int(what), {"error": {"message": "no"}})
          return
        reply = "reply to " + body["messages"][-1]["content"]
        self._send(200, {"choices": [{"message": {"role": "assistant", "content": reply}}]})

      def _send(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def log_message(self, *args):
        pass

    self.received = received
    self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
    threading.Thread(target=self.server.serve_forever, daemon=True).start()

  def close(self):
    self.server.shutdown()
    self.server.server_close()


def test_request_shape_and_model_user_with_tau_bench_prompt():
  server = _Server(lambda n: "ok")
  try:
    chat = EndpointChat(server.url, "tiny", api_key="k", temperature=0.3)
    chat.check_reachable()
    user = ModelUser(chat)
    first = user.reset("Your name is Ann. Return order #W1.")
    assert first == "reply to Hi! How can I help you today?"
    assert user.step("What is your name?") == "reply to What is your name?"
  finally:
    server.close()
  request = server.received[0]
  assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k"
  assert request["body"]["model"] == "tiny" and request["body"]["temperature"] == 0.3
  system = request["body"]["messages"][0]["content"]
  assert system.startswith("You are a user interacting with an agent.")
  assert "Instruction: Your name is Ann. Return order #W1." in system and STOP_MARKER in system


def test_survives_a_server_that_drops_a_fifth_of_requests():
  rng = random.Random(0)
  drops = [rng.random() < 0.2 for _ in range(1000)]
  server = _Server(lambda n: "drop" if drops[n] else "ok")
  try:
    chat = EndpointChat(server.url, "tiny", backoff_s=0.001, max_retries=6)
    threads = [threading.Thread(target=lambda i=i: replies.append(
        chat([{"role": "user", "content": f"m{i}"}]))) for i in range(64)]
    replies = []
    for t in threads:
      t.start()
    for t in threads:
      t.join()
  finally:
    server.close()
  assert sorted(replies) == sorted(f"reply to m{i}" for i in range(64))
  stats = chat.stats()
  assert stats["calls"] == 64 and stats["retries"] > 0 and stats["gave_up"] == []
  # Every dropped request was retried (a retry may also follow a refused connection: 64 clients
  # connect at once to a listen backlog of 5).
  dropped = sum(drops[:len(server.received)])
  assert dropped > 5 and dropped <= stats["retries"]
  assert len(server.received) <= 64 + stats["retries"]


def test_gives_up_after_retries_and_reports_it():
  server = _Server(lambda n: "500")
  try:
    chat = EndpointChat(server.url, "tiny", backoff_s=0.001, max_retries=2)
    with pytest.raises(UserEndpointError, match="after 3 attempts: HTTP 500"):
      chat([{"role": "user", "content": "hello"}])
    server_400 = _Server(lambda n: "400")
    try:
      bad = EndpointChat(server_400.url, "tiny", backoff_s=0.001, max_retries=5)
      with pytest.raises(UserEndpointError, match="after 1 attempts: HTTP 400"):
        bad([{"role": "user", "content": "x"}])     # a client error is not retried
    finally:
      server_400.close()
  finally:
    server.close()
  assert len(server.received) == 3
  assert chat.stats()["gave_up"] == [{"error": chat.stats()["gave_up"][0]["error"], "attempts": 3,
                                      "last_message": "hello"}]


def test_unreachable_server_and_bad_url_are_clear_errors():
  with socket.socket() as s:          # a port with nothing listening
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
  chat = EndpointChat(f"http://127.0.0.1:{port}/v1", "tiny", max_retries=0)
  with pytest.raises(UserEndpointError, match=f"http://127.0.0.1:{port}/v1 is unreachable"):
    chat.check_reachable()
  with pytest.raises(ValueError, match="must start with http"):
    EndpointChat("127.0.0.1:8000", "tiny")
