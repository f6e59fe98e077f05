"""The sampling programs: the sampler's prefill + decode loop and the rollout engine's slot programs.

Each takes a SamplingSpec (what all of them share) and the shapes that select a compilation. Params
are in the sampling layout (layers unstacked, replicated over data/fsdp, split over tensor); the
DecodeState is split over the batch-parallel axes; row ids, tokens and per-row settings handed to
the slot programs are replicated (the host builds them; they are small).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.partitioning import sampling_param_shardings
from selfchallenge_jax.sampling import decode as dec
from selfchallenge_jax.sharding.program import Program
from selfchallenge_jax.sharding.rules import batch_sharding, tree_shardings


@dataclasses.dataclass(frozen=True)
class SamplingSpec:
  """What every sampling program of one sampler shares."""
  config: LlamaConfig
  mesh: Mesh
  cache_len: int
  max_stop_ids: int = 4
  cache_dtype: Any = None
  top_k: int = 0

  @property
  def param_shardings(self) -> Any:
    return sampling_param_shardings(self.config, self.mesh)

  @property
  def replicated(self) -> NamedSharding:
    return NamedSharding(self.mesh, P())

  def abstract_state(self, rows: int) -> dec.DecodeState:
    return jax.eval_shape(lambda: dec.init_state(self.config, rows, self.cache_len,
                                                 self.max_stop_ids, self.cache_dtype))

  def state_shardings(self, rows: int) -> Any:
    """A DecodeState of `rows` rows and cache_len positions: split over the batch axes."""
    return tree_shardings(dec.state_logical_axes(self.config.num_layers),
                          self.abstract_state(rows), self.mesh)

  def batch_sharding(self, shape: tuple[int, ...]) -> NamedSharding:
    return batch_sharding(shape, self.mesh)


def init_state(spec: SamplingSpec, rows: int) -> Program:
  """() -> an empty DecodeState of `rows` slots (the engine's parked slots)."""
  def init():
    return dec.init_state(spec.config, rows, spec.cache_len, spec.max_stop_ids, spec.cache_dtype)
  return Program("init_state", init, spec.mesh, out_shardings=spec.state_shardings(rows))


def start(spec: SamplingSpec, prompts: int, n: int) -> Program:
  """(params, tokens [P, T], num_new [P], key_data [B, 2], temperature, top_p, max_new [B],
  stop_ids [B, S]) -> the DecodeState of B = P * n rows, each prompt prefilled once (on a cache
  of the prompt bucket's length) and its cache padded to cache_len, then copied to its n rows."""
  config, cache_len = spec.config, spec.cache_len
  rows = prompts * n

  def run(params, tokens, num_new, key_data, temperature, top_p, max_new, stop_ids):
    state = dec.init_state(config, prompts, tokens.shape[1], stop_ids.shape[1], spec.cache_dtype)
    state = dec.extend(params, state, tokens, num_new, config)
    state = dataclasses.replace(state, cache=state.cache.padded(cache_len))
    state = dec.broadcast_groups(state, n)
    return dataclasses.replace(state, key_data=key_data, temperature=temperature, top_p=top_p,
                               max_new=max_new, stop_ids=stop_ids)

  per_row = [spec.batch_sharding(s) for s in [(prompts, 1), (prompts,), (rows, 2), (rows,),
                                              (rows,), (rows,), (rows, spec.max_stop_ids)]]
  return Program("start", run, spec.mesh, in_shardings=(spec.param_shardings, *per_row),
                 out_shardings=spec.state_shardings(rows))


def decode(spec: SamplingSpec, rows: int, steps: int, window: int | None = None) -> Program:
  """(params, state) -> (state, tokens, logprobs, valid [rows, steps]): `steps` decode steps of
  every row, attending over the first `window` cache positions (None: all); state donated."""
  config, top_k = spec.config, spec.top_k

  def run(params, state):
    return dec.decode(params, state, steps, config, top_k, window)
  state_sh, out = spec.state_shardings(rows), spec.batch_sharding((rows, steps))
  return Program("decode", run, spec.mesh, in_shardings=(spec.param_shardings, state_sh),
                 out_shardings=(state_sh, out, out, out), donate_argnums=1)


def extend_rows(spec: SamplingSpec, slots: int, window: int) -> Program:
  """(params, state, row_ids [b], tokens [b, T], num_new [b], reset [b], settings) -> state: the
  rows' pending tokens appended to their caches (a reset row starts a new episode, with its
  settings); the engine's prefill and its per-turn extends. State (`slots` rows) donated."""
  config = spec.config

  def run(params, state, row_ids, tokens, num_new, reset, settings):
    return dec.extend_rows(params, state, row_ids, tokens, num_new, reset, settings, config,
                           window)
  state_sh, rep = spec.state_shardings(slots), spec.replicated
  return Program("extend_rows", run, spec.mesh,
                 in_shardings=(spec.param_shardings, state_sh, rep, rep, rep, rep, rep),
                 out_shardings=state_sh, donate_argnums=1)


def decode_rows(spec: SamplingSpec, slots: int, steps: int, window: int) -> Program:
  """(params, state, row_ids [b]) -> (state, tokens, logprobs, valid [b, steps]): a decode chunk
  on the listed rows only (compact decode). State (`slots` rows) donated."""
  config, top_k = spec.config, spec.top_k

  def run(params, state, row_ids):
    return dec.decode_rows(params, state, row_ids, steps, config, top_k, window)
  state_sh, rep = spec.state_shardings(slots), spec.replicated
  return Program("decode_rows", run, spec.mesh,
                 in_shardings=(spec.param_shardings, state_sh, rep),
                 out_shardings=(state_sh, rep, rep, rep), donate_argnums=1)


def copy_rows(spec: SamplingSpec, slots: int, window: int) -> Program:
  """(state, src [b], dst [b], settings) -> state with rows src copied to dst (a shared prompt's
  prefill reused), dst taking the new settings. State donated."""
  def run(state, src, dst, settings):
    return dec.copy_rows(state, src, dst, settings, window)
  state_sh, rep = spec.state_shardings(slots), spec.replicated
  return Program("copy_rows", run, spec.mesh, in_shardings=(state_sh, rep, rep, rep),
                 out_shardings=state_sh, donate_argnums=0)
