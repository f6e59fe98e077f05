"""An OpenAI-compatible HTTP server over the rollout engine, with continuous batching.

    server = ChatServer(engine, "smollm2-135m", port=8000)
    server.start()            # POST /v1/chat/completions, GET /v1/models (127.0.0.1 by default)
    ...
    server.close()

One thread runs `engine.serve` on a QueueSource for the server's life: each request becomes a
single-turn episode (serving/turn.py) that takes a free slot before the next decode chunk, so
concurrent requests share every decode step; HTTP threads only parse, wait and write. Streams
get each chunk's new text as it is decoded; a client that goes away (mid-stream or while waiting)
has its episode cancelled and its slot freed. The chat template and tool-call spelling are the
checkpoint's own chat format: a reply that is one well-formed call of a listed tool comes back
as `tool_calls`, anything else as content.
"""

from __future__ import annotations

import http.server
import itertools
import json
import queue
import select
import socket
import threading
import time
import urllib.parse
from typing import Any

from absl import logging

from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.rollout.episode_source import QueueSource
from selfchallenge_jax.serving import openai_schema as api
from selfchallenge_jax.sampling.sampler import Sampler
from selfchallenge_jax.serving.turn import ServedTurn
from selfchallenge_jax.tokenizer.chat_base import ChatFormat
from selfchallenge_jax.tokenizer.tool_calls import ToolCall

MAX_BODY_BYTES = 8 << 20
_POLL_S = 0.1


class _Pending:
  """One request in flight: events from the engine loop ("tokens", ids) / ("end", episode)."""

  def __init__(self, prompt_tokens: int):
    self.events: queue.Queue = queue.Queue()
    self.prompt_tokens = prompt_tokens
    self.checked = time.monotonic()     # when the client's connection was last checked


def serving_engine(sampler: Sampler, chat: ChatFormat, *, num_slots: int, max_tokens: int,
                   chunk_steps: int = 8, temperature: float = 1.0, top_p: float = 1.0,
                   compact_decode: bool = True) -> RolloutEngine:
  """The engine a ChatServer runs: one turn per request, `max_tokens` a reply, extends split by
  length and decode chunks on the decoding rows (extend_shapes.py; what CPU serving wants)."""
  return RolloutEngine(sampler, chat, num_slots=num_slots, max_turns=1,
                       max_turn_tokens=max_tokens, max_episode_tokens=max_tokens,
                       chunk_steps=chunk_steps, temperature=temperature, top_p=top_p,
                       min_extend_rows=1,
                       extend_overhead_tokens=32, compact_decode=compact_decode)


class ChatServer:

  def __init__(self, engine: RolloutEngine, model_name: str, *, host: str = "127.0.0.1",
               port: int = 8000, seed: int = 0):
    self.engine, self.model_name, self.seed = engine, model_name, seed
    self.chat = engine.chat
    self.created = int(time.time())
    self.source = QueueSource()
    self._requests: dict[int, _Pending] = {}
    self._lock = threading.Lock()
    self._streams = itertools.count(api.MAX_SEED)   # stream ids of requests without a seed
    self._failure: BaseException | None = None
    self.cancelled = 0              # requests whose episode was dropped (their client went away)
    self._loop = threading.Thread(target=self._run_engine, name="engine", daemon=True)
    self._http = _HttpServer((host, port), _handler(self))
    self._http_thread = threading.Thread(target=self._http.serve_forever, name="http",
                                         daemon=True)

  @property
  def url(self) -> str:
    host, port = self._http.server_address[:2]
    return f"http://{host}:{port}/v1"

  @property
  def failure(self) -> BaseException | None:
    """Why the model loop stopped, or None while it runs."""
    if self._failure is None and self._loop.ident is not None and not self._loop.is_alive():
      return RuntimeError("the model loop ended")
    return self._failure

  def start(self) -> "ChatServer":
    self._loop.start()
    self._http_thread.start()
    logging.info("serving %s at %s", self.model_name, self.url)
    return self

  def close(self) -> None:
    self._http.shutdown()
    self._http.server_close()
    self.source.close()
    with self._lock:
      for index, pending in self._requests.items():
        pending.events.put(("error", RuntimeError("the server is shutting down")))
        self.source.cancel(index)
      self._requests.clear()
    self._loop.join(timeout=60)

  def __enter__(self) -> "ChatServer":
    return self.start()

  def __exit__(self, *exc: Any) -> None:
    self.close()

  # ---- the engine loop ------------------------------------------------------------------------
  def _run_engine(self) -> None:
    try:
      self.engine.serve(self.source, self.seed, on_episode_end=self._ended,
                        on_tokens=self._tokens)
    except BaseException as e:  # pylint: disable=broad-except
      logging.exception("the serving loop failed")
      with self._lock:
        self._failure = e
        for pending in self._requests.values():
          pending.events.put(("error", e))
        self._requests.clear()
      self.source.close()

  def _tokens(self, index: int, ids: list[int]) -> None:
    with self._lock:
      pending = self._requests.get(index)
    if pending is not None:
      pending.events.put(("tokens", ids))

  def _ended(self, index: int, episode: ep.Episode) -> None:
    with self._lock:
      pending = self._requests.pop(index, None)
      self.cancelled += episode.end_reason == ep.CANCELLED
    if pending is not None:
      pending.events.put(("end", episode))

  # ---- requests -------------------------------------------------------------------------------
  def submit(self, request: api.ChatRequest) -> tuple[int, _Pending]:
    """Queues `request` as an episode; ApiError when its prompt does not fit the context."""
    try:
      prompt = self.chat.render(request.messages, tools=request.tools or None,
                                add_generation_prompt=True).ids
    except Exception as e:  # pylint: disable=broad-except   (any template failure is the input's)
      raise api.ApiError(400, f"messages cannot be rendered by the chat template: {e}",
                         param="messages") from None
    cache_len = self.engine.sampler.cache_len
    if len(prompt) + 1 >= cache_len:
      raise api.ApiError(400, f"This model's maximum context length is {cache_len} tokens; the "
                         f"messages take {len(prompt)}", param="messages",
                         code="context_length_exceeded")
    spec = ep.EpisodeSpec(env=ServedTurn(request.tools), messages=request.messages,
                          tools=request.tools or None,
                          stream_id=request.seed if request.seed is not None else next(
                              self._streams),
                          max_turn_tokens=request.max_tokens, temperature=request.temperature,
                          top_p=request.top_p, prompt_ids=prompt)
    pending = _Pending(len(prompt))
    with self._lock:                  # registered before the loop can report on it
      if self._failure is not None or not self._loop.is_alive():
        raise api.ApiError(503, f"the model loop is not running ({self._failure})",
                           kind="server_error")
      index = self.source.submit(spec)
      self._requests[index] = pending
    return index, pending

  def cancel(self, index: int) -> None:
    """Drops request `index` (its client left): no more events, its episode cancelled."""
    with self._lock:
      self._requests.pop(index, None)
    self.source.cancel(index)

  def reply(self, request: api.ChatRequest, episode: ep.Episode) -> tuple[dict[str, Any], str, int]:
    """(assistant message, finish reason, completion tokens) of a finished episode."""
    ids = [] if not episode.turns else episode.tokens[episode.turns[0][0]:episode.turns[0][1]]
    stopped = bool(ids) and ids[-1] in self.chat.stop_ids
    text = self.chat.tokenizer.decode(ids[:-1] if stopped else ids)
    call = self._tool_call(request, text)
    if call is not None:
      return ({"role": "assistant", "content": None,
               "tool_calls": [api.tool_call_json(call.name, call.arguments)]}, "tool_calls",
              len(ids))
    return {"role": "assistant", "content": text}, "stop" if stopped else "length", len(ids)

  def _tool_call(self, request: api.ChatRequest, text: str) -> ToolCall | None:
    if not request.tools:
      return None
    action = self.chat.parse_assistant(text)
    names = {t["function"]["name"] for t in request.tools}
    return action if (isinstance(action, ToolCall) and action.name in names
                      and isinstance(action.arguments, dict)) else None


class _HttpServer(http.server.ThreadingHTTPServer):
  daemon_threads = True
  request_queue_size = 128


def _handler(server: ChatServer):

  class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
      logging.debug("%s " + format, self.address_string(), *args)

    # ---- routes -------------------------------------------------------------------------------
    def do_GET(self) -> None:
      path = self.path.rstrip("/")
      if path in ("/v1/models", "/models"):
        self._json(200, api.models_list(server.model_name, server.created))
      elif path.startswith(("/v1/models/", "/models/")):
        name = urllib.parse.unquote(path.split("/models/", 1)[1])
        if name != server.model_name:
          self._error(api.ApiError(404, f"The model '{name}' does not exist", param="model",
                                   code="model_not_found"))
        else:
          self._json(200, api.model_object(server.model_name, server.created))
      elif path == "/health":
        self._json(200, {"status": "ok"})
      else:
        self._error(api.ApiError(404, f"unknown path {self.path}"))

    def do_POST(self) -> None:
      if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
        self._error(api.ApiError(404, f"unknown path {self.path}"))
        return
      try:
        request = api.parse_request(self._body(), model=server.model_name,
                                    max_tokens_limit=server.engine.max_turn_tokens,
                                    default_temperature=server.engine.temperature)
        index, pending = server.submit(request)
      except api.ApiError as e:
        self._error(e)
        return
      if request.stream:
        self._stream(request, index, pending)
      else:
        self._complete(request, index, pending)

    # ---- bodies -------------------------------------------------------------------------------
    def _body(self) -> Any:
      try:
        length = int(self.headers.get("Content-Length", ""))
      except ValueError:
        raise api.ApiError(411, "a Content-Length header is required") from None
      if length < 0:
        raise api.ApiError(400, "a negative Content-Length")
      if length > MAX_BODY_BYTES:
        raise api.ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
      try:
        return json.loads(self.rfile.read(length))
      except ValueError as e:
        raise api.ApiError(400, f"the request body is not JSON: {e}") from None

    def _json(self, status: int, payload: dict[str, Any], close: bool = False) -> None:
      data = json.dumps(payload).encode("utf-8")
      self.send_response(status)
      self.send_header("Content-Type", "application/json")
      self.send_header("Content-Length", str(len(data)))
      if close:
        self.send_header("Connection", "close")
        self.close_connection = True
      self.end_headers()
      self.wfile.write(data)

    def _error(self, error: api.ApiError) -> None:
      # The request's body may be unread: a kept-alive connection would read it as the next
      # request, so an error ends the connection (clients reconnect).
      self._json(error.status, error.body(), close=True)

    def _client_gone(self) -> bool:
      try:
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
      except (OSError, ValueError):
        return True

    def _next_event(self, index: int, pending: _Pending) -> tuple[str, Any] | None:
      """The loop's next event for this request; None (episode cancelled) once the client left.
      The client is checked every _POLL_S whether or not events arrive meanwhile."""
      while True:
        now = time.monotonic()
        if now - pending.checked >= _POLL_S:
          pending.checked = now
          if self._client_gone():
            server.cancel(index)
            return None
        try:
          return pending.events.get(timeout=_POLL_S)
        except queue.Empty:
          continue

    def _complete(self, request: api.ChatRequest, index: int, pending: _Pending) -> None:
      while True:
        event = self._next_event(index, pending)
        if event is None:
          self.close_connection = True
          return
        kind, value = event
        if kind == "error":
          self._error(api.ApiError(500, f"the model loop failed: {value}", kind="server_error"))
          return
        if kind == "end":
          break
      message, finish, n = server.reply(request, value)
      self._json(200, api.completion(api.completion_id(), server.model_name, message, finish,
                                     pending.prompt_tokens, n))

    def _stream(self, request: api.ChatRequest, index: int, pending: _Pending) -> None:
      request_id, model = api.completion_id(), server.model_name
      self.send_response(200)
      self.send_header("Content-Type", "text/event-stream")
      self.send_header("Cache-Control", "no-cache")
      self.send_header("Connection", "close")
      self.end_headers()
      self.close_connection = True
      stop_ids = set(server.chat.stop_ids)
      ids: list[int] = []
      sent = ""

      def send(payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"data: {data}\n\n".encode("utf-8"))
        self.wfile.flush()

      try:
        send(api.chunk(request_id, model, {"role": "assistant", "content": ""}))
        while True:
          event = self._next_event(index, pending)
          if event is None:
            return
          kind, value = event
          if kind == "error":
            send({"error": {"message": f"the model loop failed: {value}", "type": "server_error"}})
            return
          if kind == "end":
            break
          ids.extend(t for t in value if t not in stop_ids)
          if request.tools:           # a tool call is only known at the end of the turn
            continue
          text = server.chat.tokenizer.decode(ids)
          if text.endswith("\ufffd") or not text.startswith(sent):
            continue                  # a character split across tokens: wait for the rest
          if len(text) > len(sent):
            send(api.chunk(request_id, model, {"content": text[len(sent):]}))
            sent = text
        message, finish, _ = server.reply(request, value)
        if message.get("tool_calls"):
          call = dict(message["tool_calls"][0], index=0)
          send(api.chunk(request_id, model, {"tool_calls": [call]}))
        elif len(message["content"]) > len(sent) and message["content"].startswith(sent):
          send(api.chunk(request_id, model, {"content": message["content"][len(sent):]}))
        send(api.chunk(request_id, model, {}, finish))
        send("[DONE]")
      except (BrokenPipeError, ConnectionResetError):
        server.cancel(index)          # the client went away mid-stream: free its slot

  return Handler
