"""Peer benchmark: one GRPO iteration with Google Tunix's GRPOLearner.

Run with the Tunix virtualenv's python (see setup_tunix_venv.sh), NOT the
project interpreter; this file must not import selfchallenge_jax:

  JAX_PLATFORMS=cpu /work/venvs/tunix/bin/python \
    benchmarks/peers/tunix_grpo.py --prompts 16 --group 4 \
    --prompt_len 127 --new_tokens 128

Setup (defaults): tunix.models.llama3 Llama3, random init, float32, vocab
32000, embed 512, 8 layers, 8 heads, 4 KV heads, head_dim 64, MLP 1408.
Actor and a separate reference model (same initial weights) on a 1x1
('fsdp', 'tp') mesh shared by actor / reference / rollout (so Tunix shares the
actor's weights with its vanilla rollout sampler; no weight sync needed).
16 prompts x G=4 generations (one rollout batch of 64 sequences), 127 prompt
tokens (+BOS = 128) and 128 generated
tokens (top-p 1.0, temperature 1.0; EOS id outside the vocabulary so every
completion has exactly 128 tokens), KL beta 0.04, num_iterations 1, one
optimizer update (Adam) per iteration over the full 64-sequence batch; the
loss/grad and reference logprobs run in micro-batches of 4 prompts (16
sequences) to bound memory (full batch peaked at ~17 GB RSS).
Reward: trivial, fraction of even token ids in the completion.

The learner runs --warmup + --iters global steps in ONE GRPOLearner.train()
call (train() closes the cluster at the end, so it can't be called twice).
Per-iteration phases are timed by wrapping Tunix's own phase entry points
(RLCluster.generate -> rollout, RLCluster.get_ref_per_token_logps -> reference
logprobs, RLCluster.update_actor -> policy update) with block_until_ready.

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
import optax  # noqa: E402
from flax import nnx  # noqa: E402


def tunix_version():
  try:
    from importlib import metadata
    return metadata.version("google-tunix")
  except Exception:  # pragma: no cover
    return "unknown"


class IntTokenizer:
  """Trivial tokenizer: text is space separated integer token ids."""

  def __init__(self, vocab_size, pad=0, bos=1, eos=None):
    self.vocab_size = vocab_size
    self._pad = pad
    self._bos = bos  # non-zero: Tunix drops BOS when bos_id() is falsy
    self._eos = vocab_size if eos is None else eos  # never sampled

  def encode(self, text, **kwargs):
    del kwargs
    return [int(t) for t in str(text).split()]

  def decode(self, ids, **kwargs):
    del kwargs
    return " ".join(str(int(i)) for i in ids)

  def bos_id(self):
    return self._bos

  def eos_id(self):
    return self._eos

  def pad_id(self):
    return self._pad


def even_fraction_reward(prompts, completions, **kwargs):
  """Trivial reward: fraction of even token ids in each completion."""
  del prompts, kwargs
  out = []
  for c in completions:
    ids = [int(t) for t in c.split()]
    out.append(float(np.mean([i % 2 == 0 for i in ids])) if ids else 0.0)
  return out


def build_model(args, seed):
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
  return llama3_lib.Llama3(config, rngs=nnx.Rngs(params=seed)), config


class PhaseTimer:
  """Wraps bound methods; records wall seconds per call, per iteration."""

  def __init__(self):
    self.iters = []  # list of dict phase -> seconds
    self.cur = None

  def start_iter(self):
    self.cur = {}
    self.iters.append(self.cur)

  def wrap(self, obj, name, phase, block_result=True, block_fn=None):
    fn = getattr(obj, name)

    def wrapped(*a, **kw):
      t0 = time.perf_counter()
      out = fn(*a, **kw)
      if block_result:
        out = jax.block_until_ready(out)
      if block_fn is not None:
        block_fn()
      dt = time.perf_counter() - t0
      if self.cur is not None:
        self.cur[phase] = self.cur.get(phase, 0.0) + dt
      return out

    setattr(obj, name, wrapped)


def main():
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--prompts", type=int, default=16)
  p.add_argument("--group", type=int, default=4, help="G generations/prompt")
  p.add_argument("--prompt_len", type=int, default=127,
                 help="prompt tokens before Tunix adds BOS")
  p.add_argument("--new_tokens", type=int, default=128)
  p.add_argument("--train_micro_batch", type=int, default=4,
                 help="prompts per gradient-accumulation micro-batch (x G "
                 "sequences); still ONE optimizer update per iteration")
  p.add_argument("--logps_micro_batch", type=int, default=4,
                 help="prompts per reference-logprob micro-batch (x G)")
  p.add_argument("--beta", type=float, default=0.04)
  p.add_argument("--lr", type=float, default=1e-5)
  p.add_argument("--top_p", type=float, default=1.0)
  p.add_argument("--temperature", type=float, default=1.0)
  p.add_argument("--warmup", type=int, default=1,
                 help="warm-up (compile) iterations, not reported in median")
  p.add_argument("--iters", type=int, default=1, help="timed iterations")
  p.add_argument("--vocab", type=int, default=32000)
  p.add_argument("--d_model", type=int, default=512)
  p.add_argument("--layers", type=int, default=8)
  p.add_argument("--heads", type=int, default=8)
  p.add_argument("--kv_heads", type=int, default=4)
  p.add_argument("--head_dim", type=int, default=64)
  p.add_argument("--mlp_hidden", type=int, default=1408)
  p.add_argument("--seed", type=int, default=0)
  args = p.parse_args()

  from tunix.generate import utils as gen_utils
  from tunix.rl import rl_cluster as rl_cluster_lib
  from tunix.rl.grpo import grpo_learner
  from tunix.rl.rollout import base_rollout

  load_before = os.getloadavg()
  t_setup = time.perf_counter()
  # Auto axis types (Tunix's helper); a plain jax.make_mesh gives Explicit
  # axes in this JAX and the embedding gather then fails with
  # ShardingTypeError.
  from tunix.utils import mesh as mesh_lib
  mesh = mesh_lib.create_mesh((1, 1), ("fsdp", "tp"))
  actor, config = build_model(args, args.seed)
  # Reference = same initial weights, separate parameters (frozen).
  reference, _ = build_model(args, args.seed)
  tokenizer = IntTokenizer(args.vocab)

  padded_prompt = gen_utils.next_power_of_2(args.prompt_len + 1)
  rollout_config = base_rollout.RolloutConfig(
      max_tokens_to_generate=args.new_tokens,
      max_prompt_length=padded_prompt,
      kv_cache_size=padded_prompt + args.new_tokens,
      temperature=args.temperature,
      top_p=args.top_p,
      top_k=None,
  )
  steps = args.warmup + args.iters
  training_config = rl_cluster_lib.RLTrainingConfig(
      actor_optimizer=optax.adam(args.lr),
      eval_every_n_steps=10**9,
      max_steps=steps,
      mini_batch_size=args.prompts,
      # Full-batch (64 x 256 x 32000 f32) logits + grads took ~17 GB RSS on
      # CPU, so the loss and reference logprobs run in micro-batches
      # (gradient accumulation via optax.MultiSteps inside Tunix's trainer).
      train_micro_batch_size=args.train_micro_batch,
      rollout_micro_batch_size=args.prompts,
      compute_logps_micro_batch_size=args.logps_micro_batch,
      pbar_description=None,
  )
  cluster_config = rl_cluster_lib.ClusterConfig(
      role_to_mesh={
          rl_cluster_lib.Role.ACTOR: mesh,
          rl_cluster_lib.Role.REFERENCE: mesh,
          rl_cluster_lib.Role.ROLLOUT: mesh,
      },
      rollout_engine="vanilla",
      offload_to_cpu=False,
      training_config=training_config,
      rollout_config=rollout_config,
  )
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    cluster = rl_cluster_lib.RLCluster(
        actor=actor, reference=reference, tokenizer=tokenizer,
        cluster_config=cluster_config)
  algo_config = grpo_learner.GRPOConfig(
      num_generations=args.group,
      num_iterations=1,
      beta=args.beta,
      epsilon=0.2,
  )
  learner = grpo_learner.GRPOLearner(
      rl_cluster=cluster, algo_config=algo_config,
      reward_fns=[even_fraction_reward])
  setup_s = time.perf_counter() - t_setup

  timer = PhaseTimer()
  actor_model = cluster.actor_trainer.model
  timer.wrap(cluster, "generate", "rollout", block_result=False)
  timer.wrap(cluster, "get_ref_per_token_logps", "ref_logprobs")
  timer.wrap(cluster, "update_actor", "update", block_result=False,
             block_fn=lambda: jax.block_until_ready(nnx.state(actor_model)))
  orig_global_step = learner._run_global_step  # pylint: disable=protected-access
  iter_totals = []

  def timed_global_step(*a, **kw):
    timer.start_iter()
    t0 = time.perf_counter()
    out = orig_global_step(*a, **kw)
    jax.block_until_ready(nnx.state(actor_model))
    iter_totals.append(time.perf_counter() - t0)
    print(f"iteration {len(iter_totals)}: {iter_totals[-1]:.2f}s "
          f"{ {k: round(v, 2) for k, v in timer.cur.items()} }",
          file=sys.stderr, flush=True)
    return out

  learner._run_global_step = timed_global_step  # pylint: disable=protected-access

  rng = np.random.default_rng(args.seed)

  def dataset():
    for _ in range(steps):
      toks = rng.integers(3, args.vocab, size=(args.prompts, args.prompt_len))
      yield {"prompts": np.array([" ".join(map(str, r)) for r in toks])}

  p0 = jax.tree.map(np.asarray, nnx.state(actor_model, nnx.Param))
  t0 = time.perf_counter()
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    learner.train(dataset())
  train_total = time.perf_counter() - t0
  p1 = nnx.state(actor_model, nnx.Param)
  max_delta = max(jax.tree.leaves(jax.tree.map(
      lambda a, b: float(np.max(np.abs(np.asarray(b) - a))), p0, p1)))

  timed = iter_totals[args.warmup:]
  timed_phases = timer.iters[args.warmup:]
  med = statistics.median(timed) if timed else float("nan")
  split = {}
  for ph in ("rollout", "ref_logprobs", "update"):
    vals = [d.get(ph, 0.0) for d in timed_phases]
    split[ph] = round(statistics.median(vals), 3) if vals else None
  if timed:
    split["other"] = round(med - sum(v for v in split.values() if v), 3)
  n_seq = args.prompts * args.group
  result = {
      "peer": "tunix",
      "bench": "grpo_iteration",
      "version": tunix_version(),
      "jax": jax.__version__,
      "backend": jax.default_backend(),
      "devices": jax.device_count(),
      "model": {
          "vocab": args.vocab, "d_model": args.d_model, "layers": args.layers,
          "heads": args.heads, "kv_heads": args.kv_heads,
          "head_dim": args.head_dim, "mlp_hidden": args.mlp_hidden,
          "dtype": str(jax.tree.leaves(nnx.state(actor_model))[0].dtype),
      },
      "prompts": args.prompts,
      "group": args.group,
      "sequences": n_seq,
      "prompt_tokens": args.prompt_len + 1,
      "padded_prompt_tokens": padded_prompt,
      "new_tokens": args.new_tokens,
      "train_micro_batch_prompts": args.train_micro_batch,
      "logps_micro_batch_prompts": args.logps_micro_batch,
      "beta": args.beta,
      "top_p": args.top_p,
      "temperature": args.temperature,
      "updates_per_iteration": cluster.actor_trainer.train_steps // max(
          1, len(iter_totals)),
      "seconds": round(med, 3),
      "split_seconds": split,
      "generated_tokens_per_s": round(n_seq * args.new_tokens / med, 2)
      if timed else None,
      "warmup_seconds": [round(x, 3) for x in iter_totals[:args.warmup]],
      "all_timed_seconds": [round(x, 3) for x in timed],
      "all_phases": [{k: round(v, 3) for k, v in d.items()}
                     for d in timer.iters],
      "setup_seconds": round(setup_s, 3),
      "train_call_seconds": round(train_total, 3),
      "actor_train_steps": int(cluster.actor_trainer.train_steps),
      "max_param_delta": max_delta,
      "loadavg_before": [round(x, 2) for x in load_before],
      "loadavg_after": [round(x, 2) for x in os.getloadavg()],
  }
  print(json.dumps(result))


if __name__ == "__main__":
  main()
