"""The sampler's host API: validate prompts, bucket shapes, run the jitted prefill and decode loop.

  sampler = Sampler(params, config, mesh=mesh, cache_len=512)
  outputs = sampler.generate([[1, 5, 9], [1, 7]], n=4, max_new_tokens=64, temperature=1.0,
                             top_p=0.95, stop_ids=[eot], seed=0)

Shapes are bucketed (prompt length to a power of two, batch to a multiple of the batch-parallel
mesh size) so a run compiles a bounded number of programs.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.partitioning import to_sampling_layout
from selfchallenge_jax.sampling import decode as dec
from selfchallenge_jax.sampling import programs as sampling_programs
from selfchallenge_jax.sharding.mesh import single_device_mesh
from selfchallenge_jax.sharding.program import Program, ProgramTable

MIN_BUCKET = 16


@dataclasses.dataclass(frozen=True)
class SampleOutput:
  prompt_index: int
  sample_index: int
  tokens: list[int]              # sampled ids, including the stop token when one ended the turn
  logprobs: list[float]          # raw model log-probabilities of those ids
  finish_reason: str             # "stop" | "max_tokens" | "context_full"


def prompt_bucket(length: int, cache_len: int) -> int:
  """The smallest power of two >= length (at least MIN_BUCKET), capped at cache_len."""
  bucket = MIN_BUCKET
  while bucket < length:
    bucket *= 2
  return min(bucket, cache_len)


def slot_key_data(seed: int, slot_ids: np.ndarray) -> np.ndarray:
  """uint32 [B, 2] key data: slot i's stream depends only on (seed, slot id)."""
  base = jax.random.key(seed)
  keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.asarray(slot_ids, jnp.uint32))
  return np.asarray(jax.random.key_data(keys))


class Sampler:
  """mesh None: the one-device mesh (sharding.single_device_mesh); the programs are the same."""

  def __init__(self, params, config: LlamaConfig, *, cache_len: int, mesh: Mesh | None = None,
               top_k: int = 0, max_stop_ids: int = 4, cache_dtype=None):
    if cache_len > config.max_seq_len:
      raise ValueError(f"cache_len {cache_len} exceeds the model's max_seq_len {config.max_seq_len}")
    mesh = single_device_mesh() if mesh is None else mesh
    self.spec = sampling_programs.SamplingSpec(config=config, mesh=mesh, cache_len=cache_len,
                                               max_stop_ids=max_stop_ids,
                                               cache_dtype=cache_dtype, top_k=top_k)
    self.programs = ProgramTable()
    self.params = to_sampling_layout(params, config, mesh)
    self._batch_multiple = int(mesh.shape["data"] * mesh.shape["fsdp"])

  # What the programs share, read from the one spec.
  config = property(lambda self: self.spec.config)
  mesh = property(lambda self: self.spec.mesh)
  cache_len = property(lambda self: self.spec.cache_len)
  max_stop_ids = property(lambda self: self.spec.max_stop_ids)
  cache_dtype = property(lambda self: self.spec.cache_dtype)
  top_k = property(lambda self: self.spec.top_k)

  def update_params(self, params) -> None:
    """Takes new params (either layout); converted to the sampling layout on the sampler's mesh."""
    self.params = to_sampling_layout(params, self.config, self.mesh)

  def start_program(self, prompts: int, n: int) -> Program:
    return self.programs.get(("start", prompts, n),
                             lambda: sampling_programs.start(self.spec, prompts, n))

  def decode_program(self, rows: int, steps: int, window: int | None = None) -> Program:
    return self.programs.get(("decode", rows, steps, window),
                             lambda: sampling_programs.decode(self.spec, rows, steps, window))

  # ---- API -----------------------------------------------------------------------------------
  def validate(self, prompts: Sequence[Sequence[int]], stop_ids: Sequence[int],
               max_new_tokens: int) -> None:
    if not prompts:
      raise ValueError("no prompts given")
    for i, p in enumerate(prompts):
      if len(p) == 0:
        raise ValueError(f"prompt {i} is empty; a prompt needs at least one token (e.g. BOS)")
      if len(p) >= self.cache_len:
        raise ValueError(f"prompt {i} has {len(p)} tokens; the context (cache_len) is "
                         f"{self.cache_len}, leaving no room to generate")
      bad = [t for t in p if not 0 <= int(t) < self.config.vocab_size]
      if bad:
        raise ValueError(f"prompt {i} has token ids outside [0, {self.config.vocab_size}): {bad[:5]}")
    if len(stop_ids) > self.max_stop_ids:
      raise ValueError(f"{len(stop_ids)} stop ids given; this sampler allows {self.max_stop_ids}")
    bad = [t for t in stop_ids if not 0 <= int(t) < self.config.vocab_size]
    if bad:
      raise ValueError(f"unknown stop token id(s) {bad}: not in the vocabulary "
                       f"[0, {self.config.vocab_size})")
    if max_new_tokens <= 0:
      raise ValueError(f"max_new_tokens must be positive, got {max_new_tokens}")

  def generate(self, prompts: Sequence[Sequence[int]], *, n: int = 1, max_new_tokens: int = 64,
               temperature: float = 1.0, top_p: float = 1.0, stop_ids: Sequence[int] = (),
               seed: int = 0) -> list[SampleOutput]:
    """n samples per prompt (sharing one prefill); outputs ordered prompt-major."""
    self.validate(prompts, stop_ids, max_new_tokens)
    P = len(prompts)
    P_pad = -(-P // self._batch_multiple) * self._batch_multiple
    T = prompt_bucket(max(len(p) for p in prompts), self.cache_len)
    tokens = np.zeros((P_pad, T), np.int32)
    num_new = np.zeros((P_pad,), np.int32)
    for i, p in enumerate(prompts):
      tokens[i, :len(p)] = p
      num_new[i] = len(p)
    B = P_pad * n
    stops = np.full((B, self.max_stop_ids), -1, np.int32)
    stops[:, :len(stop_ids)] = np.asarray(stop_ids, np.int32)
    state = self.start_program(P_pad, n)(
        self.params, tokens, num_new, slot_key_data(seed, np.arange(B)),
        np.full((B,), temperature, np.float32), np.full((B,), top_p, np.float32),
        np.full((B,), max_new_tokens, np.int32), stops)
    state, out_tokens, out_logprobs, valid = self.decode_program(B, max_new_tokens)(self.params,
                                                                                    state)
    out_tokens, out_logprobs, valid = map(np.asarray, (out_tokens, out_logprobs, valid))
    finish = np.asarray(state.finish)
    results = []
    for slot in range(P * n):
      keep = valid[slot]
      results.append(SampleOutput(
          prompt_index=slot // n, sample_index=slot % n,
          tokens=out_tokens[slot][keep].tolist(), logprobs=out_logprobs[slot][keep].tolist(),
          finish_reason=dec.FINISH_NAMES[int(finish[slot])]))
    return results
