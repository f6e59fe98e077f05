"""Peer benchmark: Google Tunix sampler throughput (standalone).

Run with the Tunix virtualenv's python (see setup_tunix_venv.sh), NOT the
project interpreter; this file must not import selfchallenge_jax:

  JAX_PLATFORMS=cpu /work/venvs/tunix/bin/python \
    benchmarks/peers/tunix_sampler.py --batches 16,64 --new_tokens 128

Model: tunix.models.llama3.model.Llama3, random init, float32:
vocab 32000, embed 512, 8 layers, 8 heads, 4 KV heads, head_dim 64, MLP 1408.
Sampler: tunix.generate.sampler.Sampler with a trivial in-script tokenizer
(space separated integer ids; no downloads).

Prompts are 127 random tokens; Tunix prepends BOS -> 128 tokens, which is
already a power of two, so no extra left padding (129+ would pad to 256).
Sampling: top-p 0.95, temperature 1.0. The tokenizer's EOS id is chosen outside
the vocabulary so every row generates exactly --new_tokens tokens (no early
stop), which is verified after each run.

Prints one JSON object on stdout.
"""

import argparse
import json
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402


def tunix_version():
  try:
    from importlib import metadata
    return metadata.version("google-tunix")
  except Exception:  # pragma: no cover
    return "unknown"


class IntTokenizer:
  """Trivial tokenizer: text is space separated integer token ids.

  Satisfies tunix.generate.tokenizer_adapter.TokenizerAdapter's duck-typed
  interface (encode, decode, bos_id, eos_id, pad_id).
  """

  def __init__(self, vocab_size, pad=0, bos=1, eos=None):
    self.vocab_size = vocab_size
    self._pad = pad
    self._bos = bos  # must be non-zero: Tunix skips BOS when bos_id() is falsy
    # Default EOS is out of vocabulary -> never sampled -> fixed-length output.
    self._eos = vocab_size if eos is None else eos

  def encode(self, text, **kwargs):
    del kwargs
    return [int(t) for t in text.split()]

  def decode(self, ids, **kwargs):
    del kwargs
    return " ".join(str(int(i)) for i in ids)

  def bos_id(self):
    return self._bos

  def eos_id(self):
    return self._eos

  def pad_id(self):
    return self._pad


def build_model(args):
  from tunix.models.llama3 import model as llama3_lib
  config = llama3_lib.ModelConfig(
      num_layers=args.layers,
      vocab_size=args.vocab,
      embed_dim=args.d_model,
      hidden_dim=args.mlp_hidden,
      num_heads=args.heads,
      head_dim=args.head_dim,
      num_kv_heads=args.kv_heads,
      rope_theta=500_000,
      norm_eps=1e-5,
      weight_tying=False,
  )
  # Params are created by nnx.initializers.normal()/ones_init() -> float32.
  model = llama3_lib.Llama3(config, rngs=nnx.Rngs(params=args.seed))
  return model, config


def make_prompts(batch, prompt_len, vocab, seed):
  rng = np.random.default_rng(seed)
  # Avoid pad (0) and BOS (1) ids inside prompts.
  toks = rng.integers(3, vocab, size=(batch, prompt_len))
  return [" ".join(map(str, row)) for row in toks]


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batches", default="16,64",
                 help="comma separated batch sizes")
  p.add_argument("--new_tokens", type=int, default=128)
  p.add_argument("--prompt_len", type=int, default=127,
                 help="prompt tokens before Tunix adds BOS")
  p.add_argument("--runs", type=int, default=3,
                 help="timed runs per batch (median reported)")
  p.add_argument("--top_p", type=float, default=0.95)
  p.add_argument("--temperature", type=float, default=1.0)
  p.add_argument("--vocab", type=int, default=32000)
  p.add_argument("--d_model", type=int, default=512)
  p.add_argument("--layers", type=int, default=8)
  p.add_argument("--heads", type=int, default=8)
  p.add_argument("--kv_heads", type=int, default=4)
  p.add_argument("--head_dim", type=int, default=64)
  p.add_argument("--mlp_hidden", type=int, default=1408)
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()

  from tunix.generate import sampler as sampler_lib
  from tunix.generate import utils as gen_utils

  batches = [int(b) for b in args.batches.split(",") if b]
  load_before = os.getloadavg()
  t0 = time.perf_counter()
  model, config = build_model(args)
  init_s = time.perf_counter() - t0

  tokenizer = IntTokenizer(args.vocab)
  # Prompt after BOS is padded (left) by Tunix to the next power of two.
  padded_prompt = gen_utils.next_power_of_2(args.prompt_len + 1)
  cache_size = padded_prompt + args.new_tokens
  cache_config = sampler_lib.CacheConfig(
      cache_size=cache_size,
      num_layers=config.num_layers,
      num_kv_heads=config.num_kv_heads,
      head_dim=config.head_dim,
  )
  with warnings.catch_warnings():
    # Llama3 has no init_cache(); Sampler falls back to its own (deprecated)
    # _init_cache built from CacheConfig and warns about it.
    warnings.simplefilter("ignore", DeprecationWarning)
    sampler = sampler_lib.Sampler(
        transformer=model, tokenizer=tokenizer, cache_config=cache_config)

  def run(prompts, seed):
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", DeprecationWarning)
      out = sampler(
          prompts,
          max_generation_steps=args.new_tokens,
          max_prompt_length=padded_prompt,
          echo=False,
          return_logits=False,
          temperature=args.temperature,
          top_p=args.top_p,
          top_k=None,
          seed=seed,
      )
    # __call__ already device_get()s the token buffer, so timing is complete.
    return out

  result = {
      "peer": "tunix",
      "version": tunix_version(),
      "jax": jax.__version__,
      "backend": jax.default_backend(),
      "devices": jax.device_count(),
      "model": {
          "vocab": args.vocab, "d_model": args.d_model, "layers": args.layers,
          "heads": args.heads, "kv_heads": args.kv_heads,
          "head_dim": args.head_dim, "mlp_hidden": args.mlp_hidden,
          "dtype": str(jax.tree.leaves(nnx.state(model))[0].dtype),
          "params": int(sum(x.size for x in jax.tree.leaves(nnx.state(model)))),
      },
      "prompt_tokens": args.prompt_len + 1,
      "padded_prompt_tokens": padded_prompt,
      "new_tokens": args.new_tokens,
      "top_p": args.top_p,
      "temperature": args.temperature,
      "runs": args.runs,
      "init_seconds": round(init_s, 3),
  }
  for b in batches:
    prompts = make_prompts(b, args.prompt_len, args.vocab, args.seed + b)
    t0 = time.perf_counter()
    out = run(prompts, seed=0)  # warm-up: compiles prefill + decode for b
    warm_s = time.perf_counter() - t0
    times = []
    lens = set()
    for r in range(args.runs):
      t0 = time.perf_counter()
      out = run(prompts, seed=r + 1)
      times.append(time.perf_counter() - t0)
      lens |= {len(t) for t in out.tokens}
    if lens != {args.new_tokens}:
      print(f"warning: generated lengths {sorted(lens)}", file=sys.stderr)
    med = statistics.median(times)
    result[f"batch_{b}"] = {
        "new_tokens_per_s": round(b * args.new_tokens / med, 2),
        "seconds": round(med, 4),
        "all_seconds": [round(t, 4) for t in times],
        "warmup_seconds": round(warm_s, 3),
        "generated_lengths": sorted(lens),
    }
    print(f"batch {b}: median {med:.3f}s "
          f"{json.dumps(result[f'batch_{b}'])}", file=sys.stderr, flush=True)
  result["loadavg_before"] = [round(x, 2) for x in load_before]
  result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
  print(json.dumps(result))


if __name__ == "__main__":
  main()
