"""The sampler's host API: validate prompts, bucket shapes, run the jitted prefill and decode loop.

  sampler = Sampler(params, config, mesh=mesh, cache_len=512)
  outputs = sampler.generate([[1, 5, 9], [1, 7]], n=4, max_new_tokens=64, temperature=1.0,
                             top_p=0.95, stop_ids=[eot], seed=0)

Shapes are bucketed (prompt length to a power of two, batch to a multiple of the batch-parallel
mesh size) so a run compiles a bounded number of programs.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.partitioning import sampling_param_shardings, to_sampling_layout
from selfchallenge_jax.sampling import decode as dec
from selfchallenge_jax.sharding.mesh_jit import mesh_jit
from selfchallenge_jax.sharding.rules import logical_to_spec, tree_shardings

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

  def __init__(self, params, config: LlamaConfig, *, cache_len: int, mesh: Mesh | None = None,
               top_k: int = 0, max_stop_ids: int = 4, cache_dtype=None):
    if cache_len > config.max_seq_len:
      raise ValueError(f"cache_len {cache_len} exceeds the model's max_seq_len {config.max_seq_len}")
    self.config = config
    self.cache_len = cache_len
    self.mesh = mesh
    self.top_k = top_k
    self.max_stop_ids = max_stop_ids
    self.cache_dtype = cache_dtype
    self.params = to_sampling_layout(params, config, mesh)
    self._batch_multiple = 1 if mesh is None else int(mesh.shape["data"] * mesh.shape["fsdp"])

  def update_params(self, params) -> None:
    """Takes new params (either layout); converted to the sampling layout on the sampler's mesh."""
    self.params = to_sampling_layout(params, self.config, self.mesh)

  # ---- jitted programs ----------------------------------------------------------------------
  def _shardings(self, state_abstract):
    if self.mesh is None:
      return None
    return tree_shardings(dec.state_logical_axes(self.config.num_layers), state_abstract,
                          self.mesh)

  def _batch_sharding(self, shape):
    if self.mesh is None:
      return None
    axes = ("batch",) + (None,) * (len(shape) - 1)
    return NamedSharding(self.mesh, logical_to_spec(axes, shape, self.mesh))

  @functools.lru_cache(maxsize=64)
  def _start_fn(self, prompts_shape: tuple[int, int], n: int):
    config, cache_len = self.config, self.cache_len
    P, _ = prompts_shape
    B = P * n

    def start(params, tokens, num_new, key_data, temperature, top_p, max_new, stop_ids):
      # The prefill attends over a cache of the prompt bucket's length only; the decode cache
      # (cache_len positions) is that one padded with room to generate.
      state = dec.init_state(config, P, tokens.shape[1], stop_ids.shape[1], self.cache_dtype)
      state = dec.extend(params, state, tokens, num_new, config)
      state = dataclasses.replace(state, cache=state.cache.padded(cache_len))
      state = dec.broadcast_groups(state, n)
      return dataclasses.replace(state, key_data=key_data, temperature=temperature, top_p=top_p,
                                 max_new=max_new, stop_ids=stop_ids)

    if self.mesh is None:
      return jax.jit(start)
    abstract = jax.eval_shape(lambda: dec.init_state(config, B, cache_len, self.max_stop_ids,
                                                     self.cache_dtype))
    per_slot = [self._batch_sharding(s) for s in [(P, 1), (P,), (B, 2), (B,), (B,), (B,),
                                                  (B, self.max_stop_ids)]]
    return mesh_jit(start, self.mesh,
                    in_shardings=(sampling_param_shardings(config, self.mesh), *per_slot),
                    out_shardings=self._shardings(abstract))

  @functools.lru_cache(maxsize=64)
  def _decode_fn(self, batch_size: int, num_steps: int, window: int | None = None):
    config, top_k = self.config, self.top_k

    def run(params, state):
      return dec.decode(params, state, num_steps, config, top_k, window)

    if self.mesh is None:
      return jax.jit(run, donate_argnums=1)
    abstract = jax.eval_shape(lambda: dec.init_state(config, batch_size, self.cache_len,
                                                     self.max_stop_ids, self.cache_dtype))
    state_sh = self._shardings(abstract)
    out = self._batch_sharding((batch_size, num_steps))
    return mesh_jit(run, self.mesh,
                    in_shardings=(sampling_param_shardings(config, self.mesh), state_sh),
                    out_shardings=(state_sh, out, out, out), donate_argnums=1)

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
    state = self._start_fn((P_pad, T), n)(
        self.params, tokens, num_new, slot_key_data(seed, np.arange(B)),
        np.full((B,), temperature, np.float32), np.full((B,), top_p, np.float32),
        np.full((B,), max_new_tokens, np.int32), stops)
    state, out_tokens, out_logprobs, valid = self._decode_fn(B, max_new_tokens)(self.params, state)
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
