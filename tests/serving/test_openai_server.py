"""The `openai` client against our server on 127.0.0.1: a tool-call round trip, 16 concurrent
requests, OpenAI-style 4xx errors, a stream cancelled mid-way.

The model is a tiny Llama trained here (a few hundred Adam steps) to memorise two replies: a
`add` tool call for the question, and the sentence after the tool's result. Greedy decoding then
writes them exactly, which is what makes a tool-call round trip testable without a real model.
"""

import threading
import time

import pytest

openai = pytest.importorskip("openai")

from selfchallenge_jax.model import get_config  # noqa: E402
from selfchallenge_jax.rollout.engine import RolloutEngine  # noqa: E402
from selfchallenge_jax.sampling import Sampler  # noqa: E402
from selfchallenge_jax.serving.server import ChatServer  # noqa: E402
from selfchallenge_jax.sharding.mesh import single_device_mesh  # noqa: E402
from selfchallenge_jax.tokenizer import make_chat_format  # noqa: E402
from selfchallenge_jax.tokenizer.tool_calls import ToolCall  # noqa: E402

from chat_fixtures import make_chat  # noqa: E402
from memorise import train_to_memorise  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Adds two numbers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "number"},
                                                    "b": {"type": "number"}},
                   "required": ["a", "b"]}}}]
QUESTION = [{"role": "user", "content": "What is 2 + 3?"}]
CALL = ToolCall("add", {"a": 2, "b": 3})
FINAL = "The sum is 5."
GREETING = [{"role": "user", "content": "Say hello."}]
HELLO = "Hello there, the result is shown below."
COUNT = [{"role": "user", "content": "Count."}]
LONG = " ".join(["one two three four five six seven eight nine ten"] * 6)   # > 64 tokens
CACHE_LEN = 512


def _train_to_memorise(chat, config):
  after_call = QUESTION + [CALL.to_message(), {"role": "tool", "content": "5"}]
  chats = [QUESTION + [CALL.to_message()], after_call + [{"role": "assistant", "content": FINAL}]]
  rendered = [chat.render(c, tools=TOOLS, add_generation_prompt=False) for c in chats]
  rendered.append(chat.render(GREETING + [{"role": "assistant", "content": HELLO}],
                              add_generation_prompt=False))          # no tools: plain text
  rendered.append(chat.render(COUNT + [{"role": "assistant", "content": LONG}],
                              add_generation_prompt=False))
  return train_to_memorise(config, rendered)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
  tokenizer, _ = make_chat(tmp_path_factory.mktemp("tok"), vocab_size=320)
  chat = make_chat_format("llama3", tokenizer, tool_schemas="signatures")    # short prompts
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, bos_id=tokenizer.bos_id,
                      eos_id=tokenizer.eos_id, max_seq_len=CACHE_LEN, remat=False)
  params = _train_to_memorise(chat, config)
  sampler = Sampler(params, config, cache_len=CACHE_LEN, mesh=single_device_mesh())
  engine = RolloutEngine(sampler, chat, num_slots=8, max_turns=1, max_turn_tokens=64,
                         max_episode_tokens=64, chunk_steps=4, temperature=0.0,
                         min_extend_rows=1, extend_overhead_tokens=32)
  with ChatServer(engine, "tiny", port=0) as s:
    yield s
  engine.close()


@pytest.fixture
def client(server):
  return openai.OpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=120)


def test_models_endpoint_and_localhost_binding(server, client):
  assert [m.id for m in client.models.list().data] == ["tiny"]
  assert client.models.retrieve("tiny").id == "tiny"
  with pytest.raises(openai.NotFoundError) as e:
    client.models.retrieve("gpt-4")
  assert e.value.body["code"] == "model_not_found"
  assert server.url.startswith("http://127.0.0.1:")


def test_tool_call_round_trip(client):
  first = client.chat.completions.create(model="tiny", messages=QUESTION, tools=TOOLS,
                                         temperature=0)
  choice = first.choices[0]
  assert choice.finish_reason == "tool_calls", choice
  call = choice.message.tool_calls[0]
  assert call.function.name == "add" and call.type == "function"
  import json
  assert json.loads(call.function.arguments) == {"a": 2, "b": 3}
  assert first.usage.completion_tokens > 0 and first.usage.prompt_tokens > 0
  # The client runs the tool and sends its result back: the model answers in text.
  messages = QUESTION + [choice.message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": "5"}]
  second = client.chat.completions.create(model="tiny", messages=messages, tools=TOOLS,
                                          temperature=0)
  assert second.choices[0].finish_reason == "stop"
  assert second.choices[0].message.content == FINAL


def test_sixteen_concurrent_requests_share_the_batch(client):
  results, errors = [None] * 16, []

  def ask(i):
    try:
      r = client.chat.completions.create(model="tiny", messages=QUESTION, tools=TOOLS,
                                         temperature=0)
      results[i] = r.choices[0].message.tool_calls[0].function.name
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)
  threads = [threading.Thread(target=ask, args=(i,)) for i in range(16)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors, errors
  assert results == ["add"] * 16


def test_streaming_text_and_tool_call(client):
  stream = client.chat.completions.create(model="tiny", messages=GREETING, temperature=0,
                                          stream=True)
  parts, finish = [], None
  for event in stream:
    parts.append(event.choices[0].delta.content or "")
    finish = event.choices[0].finish_reason or finish
  assert "".join(parts) == HELLO and finish == "stop"
  assert len([p for p in parts if p]) >= 2          # text arrives chunk by chunk
  stream = client.chat.completions.create(model="tiny", messages=QUESTION, tools=TOOLS,
                                          temperature=0, stream=True)
  events = list(stream)
  calls = [c for e in events for c in (e.choices[0].delta.tool_calls or [])]
  assert calls and calls[0].function.name == "add"
  assert events[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("kwargs,status,param", [
    ({"model": "gpt-5"}, 404, "model"),
    ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, 400, "tools[0]"),
    ({"tools": [{"type": "retrieval"}]}, 400, "tools[0]"),
    ({"messages": [{"role": "user", "content": "x " * 2000}]}, 400, "messages"),
    ({"max_tokens": 10_000}, 400, "max_tokens"),
    ({"n": 2}, 400, "n"),
    ({"temperature": 5}, 400, "temperature"),
    ({"seed": 1 << 64}, 400, "seed"),
    ({"tools": [{"type": "function", "function": {
        "name": "f", "parameters": {"type": "object", "properties": {"x": "string"}}}}]},
     400, "tools[0]"),
])
def test_bad_requests_get_openai_style_errors(client, kwargs, status, param):
  request = {"model": "tiny", "messages": QUESTION, **kwargs}
  with pytest.raises(openai.APIStatusError) as info:
    client.chat.completions.create(**request)
  assert info.value.status_code == status
  body = info.value.body
  assert body["param"] == param and body["type"] == "invalid_request_error" and body["message"]
  if "content" in str(kwargs):
    assert body["code"] == "context_length_exceeded"


def test_a_stream_cancelled_mid_way_frees_its_slot(server, client):
  # A long reply (the 64-token budget would end it) read for one chunk, then dropped.
  before, cancelled = server.engine.stats.sampled_tokens, server.cancelled
  stream = client.chat.completions.create(model="tiny", messages=COUNT, temperature=0,
                                          max_tokens=64, stream=True)
  next(iter(stream))
  stream.close()
  time.sleep(1.0)
  assert server.cancelled == cancelled + 1     # the engine dropped the running episode
  with server._lock:                          # and the request is gone from the server's table
    assert not server._requests
  # The server still answers, and the cancelled request did not run to its 64-token budget.
  r = client.chat.completions.create(model="tiny", messages=QUESTION, tools=TOOLS, temperature=0)
  assert r.choices[0].finish_reason == "tool_calls"
  assert server.engine.stats.sampled_tokens - before < 64 + 2 * 20


def test_a_kept_alive_connection_survives_an_error(server):
  """An error answered before the body was read must not leave that body on the connection."""
  import http.client
  import json
  host, port = server.url.split("//")[1].split("/")[0].split(":")
  conn = http.client.HTTPConnection(host, int(port), timeout=60)
  body = json.dumps({"model": "tiny", "messages": QUESTION})
  conn.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
  first = conn.getresponse()
  assert first.status == 404 and json.loads(first.read())["error"]["message"]
  conn.request("GET", "/v1/models")             # reconnects if the server closed: still valid
  second = conn.getresponse()
  assert second.status == 200 and json.loads(second.read())["data"][0]["id"] == "tiny"
