"""A stand-in for an external OpenAI-compatible API (test helper): a stdlib HTTP server on
127.0.0.1 whose /v1/chat/completions replies come from a function of the request body.

    with ScriptedEndpoint(lambda body: {"role": "assistant", "content": "Answer: 5"}) as url:
      ...                                   # url = "http://127.0.0.1:PORT/v1"

`reply(body)` returns the assistant message, an int (an HTTP error status to answer instead: a
server that drops a request) or bytes (a raw 200 body: a malformed payload). Every request body
is kept in `requests` and its path in `paths`, in arrival order.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedEndpoint:

  def __init__(self, reply, model="scripted"):
    self.reply, self.model, self.requests, self.paths = reply, model, [], []
    self._lock = threading.Lock()
    outer = self

    class Handler(BaseHTTPRequestHandler):
      def do_GET(self):  # noqa: N802
        if self.path.rstrip("/") != "/v1/models":
          return self._send(404, {"error": {"message": "not found"}})
        self._send(200, {"object": "list", "data": [{"id": outer.model, "object": "model"}]})

      def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with outer._lock:
          outer.requests.append(body)
          outer.paths.append(self.path)
        if self.path != "/v1/chat/completions":
          return self._send(404, {"error": {"message": "not found"}})
        message = outer.reply(body)
        if isinstance(message, int):
          return self._send(message, {"error": {"message": "dropped by the test double"}})
        if isinstance(message, bytes):
          return self._send(200, message)
        self._send(200, {"id": "chatcmpl-test", "object": "chat.completion",
                         "model": body.get("model"),
                         "choices": [{"index": 0, "message": message,
                                      "finish_reason": "tool_calls" if message.get("tool_calls")
                                      else "stop"}]})

      def _send(self, status, payload):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def log_message(self, *args):
        pass

    self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

  @property
  def url(self):
    return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

  def __enter__(self):
    self.thread.start()
    return self.url

  def __exit__(self, *exc):
    self.httpd.shutdown()
    self.httpd.server_close()
