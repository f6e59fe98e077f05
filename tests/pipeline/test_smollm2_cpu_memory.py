"""The README main job's largest training program fits the 24 GiB machine: compiled (not run) at
SmolLM2-135M's shapes with configs/smollm2_cpu.py's training fields, at the largest micro-batch
the GRPO update can see (rl.micro_batch_rows x sampling.cache_len) and the warm-up's largest
batch (bootstrap.batch_tokens in one bucket). Without remat the micro-batch needed 47 GiB and
the first full run died in its third GRPO step."""

import dataclasses

import jax
import jax.numpy as jnp

from configs import smollm2_cpu
from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig

SMOLLM2 = LlamaConfig(vocab_size=49152, d_model=576, num_layers=30, num_heads=9, num_kv_heads=3,
                      mlp_dim=1536, max_seq_len=8192, rope_theta=100000.0, tie_embeddings=True)
BUDGET = 12 << 30   # of 24 GiB: params, optimizer state, the sampler's cache and Python around it


def _backward_temp_bytes(config, rows, length):
  params = llama.abstract_params(config)
  tokens = jax.ShapeDtypeStruct((rows, length), jnp.int32)
  mask = jax.ShapeDtypeStruct((rows, length), bool)
  grad = jax.jit(jax.grad(lambda p, t, m: llama.hidden_states(p, t, t, m, config).sum()))
  return grad.lower(params, tokens, mask).compile().memory_analysis().temp_size_in_bytes


def test_largest_training_batches_fit():
  c = smollm2_cpu.get_config()
  config = dataclasses.replace(SMOLLM2, **dict(c.model))
  length = c.sampling.cache_len
  assert _backward_temp_bytes(config, c.rl.micro_batch_rows, length) < BUDGET
  bucket = c.bootstrap.max_len
  assert _backward_temp_bytes(config, max(1, c.bootstrap.batch_tokens // bucket), bucket) < BUDGET
