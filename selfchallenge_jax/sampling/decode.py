"""The jitted sampler state machine: extend-prefill and a device-side decode loop over slots.

A slot is one row of the batch: its KV cache row, the logits of its next token, and its per-slot
sampling settings. `extend` appends tokens to chosen slots (a first prefill is an extend on an
empty cache; a multi-turn observation is an extend on a parked slot) and makes them active.
`decode` samples active slots until each hits a stop token, its max_new budget or a full cache,
or until `num_steps` steps have run; finished slots park (inactive) while the others go on.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.kv_cache import KVCache
from selfchallenge_jax.sampling.sampling_fns import sample_tokens
from selfchallenge_jax.sharding.rules import constrain

# finish reasons
RUNNING, STOP_TOKEN, MAX_TOKENS, CONTEXT_FULL = 0, 1, 2, 3
FINISH_NAMES = {RUNNING: "running", STOP_TOKEN: "stop", MAX_TOKENS: "max_tokens",
                CONTEXT_FULL: "context_full"}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DecodeState:
  cache: KVCache
  logits: jax.Array        # float32 [B, V]: next-token logits of each slot
  active: jax.Array        # bool [B]: slot is sampling
  finish: jax.Array        # int32 [B]: finish reason of the slot's last turn
  generated: jax.Array     # int32 [B]: tokens sampled in the current turn
  sample_count: jax.Array  # int32 [B]: tokens sampled ever (folded into the slot's key)
  key_data: jax.Array      # uint32 [B, 2]: per-slot PRNG key data
  temperature: jax.Array   # float32 [B]; 0 = greedy
  top_p: jax.Array         # float32 [B]; 1 = off
  max_new: jax.Array       # int32 [B]: per-turn budget
  stop_ids: jax.Array      # int32 [B, NS]: stop tokens, padded with -1

  @property
  def batch_size(self) -> int:
    return self.logits.shape[0]


def state_logical_axes(num_layers: int) -> DecodeState:
  """The logical-axes tree of a DecodeState (the cache has one K and one V entry per layer)."""
  return DecodeState(
      cache=KVCache.logical_axes(num_layers),
      logits=("batch", "act_vocab"), active=("batch",), finish=("batch",), generated=("batch",),
      sample_count=("batch",), key_data=("batch", None), temperature=("batch",), top_p=("batch",),
      max_new=("batch",), stop_ids=("batch", None))


def init_state(config: LlamaConfig, batch_size: int, cache_len: int, num_stop: int,
               cache_dtype=None) -> DecodeState:
  """An empty state: no tokens cached, every slot parked."""
  zeros = jnp.zeros((batch_size,), jnp.int32)
  return DecodeState(
      cache=KVCache.init(config, batch_size, cache_len, cache_dtype),
      logits=jnp.zeros((batch_size, config.vocab_size), jnp.float32),
      active=jnp.zeros((batch_size,), bool), finish=zeros, generated=zeros, sample_count=zeros,
      key_data=jnp.zeros((batch_size, 2), jnp.uint32),
      temperature=jnp.ones((batch_size,), jnp.float32), top_p=jnp.ones((batch_size,), jnp.float32),
      max_new=zeros, stop_ids=jnp.full((batch_size, num_stop), -1, jnp.int32))


def extend(params: llama.Params, state: DecodeState, tokens: jax.Array, num_new: jax.Array,
           config: LlamaConfig) -> DecodeState:
  """Appends tokens [B, T] (right-padded; num_new [B] real, 0 = leave the slot alone) to the cache.

  Slots with num_new > 0 get the logits of their last new token and become active with a fresh
  per-turn budget count. Their positions continue from the slot's cache length.
  """
  T = tokens.shape[1]
  positions = state.cache.lengths[:, None] + jnp.arange(T)[None, :]
  logits, cache = llama.forward_cached(params, tokens, positions, num_new, state.cache, config,
                                       logits_at=jnp.maximum(num_new - 1, 0))
  touched = num_new > 0
  return dataclasses.replace(
      state, cache=cache,
      logits=jnp.where(touched[:, None], logits, state.logits),
      active=state.active | touched,
      finish=jnp.where(touched, RUNNING, state.finish),
      generated=jnp.where(touched, 0, state.generated))


def decode(params: llama.Params, state: DecodeState, num_steps: int, config: LlamaConfig,
           top_k: int = 0, window: int | None = None
           ) -> tuple[DecodeState, jax.Array, jax.Array, jax.Array]:
  """Runs up to num_steps sampling steps on device (exits early when no slot is active).

  window (static): the steps read and attend over only the cache's first `window` positions
  (copied out once per call and written back at its end), so a decode step costs what the slots'
  contexts need rather than the whole cache: at 32 slots and 2048 positions, SmolLM2's cache is
  ~3 GB, several times its weights. The caller guarantees every active slot's length plus
  num_steps is <= window (parked slots may be longer: they neither read nor write). None = the
  whole cache.

  Returns (state, tokens int32 [B, num_steps], logprobs float32 [B, num_steps], valid bool
  [B, num_steps]); valid marks the steps at which each slot sampled.
  """
  cache_len = state.cache.max_len
  window = _resolve_window(state, window)
  if window < cache_len:
    sub = dataclasses.replace(state, cache=state.cache.window(window))
    sub, out_tokens, out_logprobs, out_valid = _decode_loop(params, sub, num_steps, config,
                                                            top_k, cache_len)
    return (dataclasses.replace(sub, cache=state.cache.with_window(sub.cache)), out_tokens,
            out_logprobs, out_valid)
  return _decode_loop(params, state, num_steps, config, top_k, cache_len)


def _decode_loop(params: llama.Params, state: DecodeState, num_steps: int, config: LlamaConfig,
                 top_k: int, cache_len: int) -> tuple[DecodeState, jax.Array, jax.Array, jax.Array]:
  """decode's while loop; `cache_len` is the real cache's length (the state may hold a window)."""
  B = state.batch_size
  out_tokens = jnp.zeros((B, num_steps), jnp.int32)
  out_logprobs = jnp.zeros((B, num_steps), jnp.float32)
  out_valid = jnp.zeros((B, num_steps), bool)

  def cond(carry):
    i, state, *_ = carry
    return (i < num_steps) & jnp.any(state.active)

  def body(carry):
    i, state, out_tokens, out_logprobs, out_valid = carry
    keys = jax.vmap(lambda kd, c: jax.random.fold_in(jax.random.wrap_key_data(kd), c))(
        state.key_data, state.sample_count)
    tokens, logprobs = sample_tokens(state.logits, keys, state.temperature, state.top_p, top_k)
    active = state.active
    generated = state.generated + active
    hit_stop = jnp.any(tokens[:, None] == state.stop_ids, axis=-1)
    out_of_budget = generated >= state.max_new
    cache_full = state.cache.lengths >= cache_len      # no room to feed this token back
    finish = jnp.where(hit_stop, STOP_TOKEN,
                       jnp.where(out_of_budget, MAX_TOKENS,
                                 jnp.where(cache_full, CONTEXT_FULL, RUNNING)))
    done = active & (finish != RUNNING)
    feed = active & ~done
    logits, cache = llama.forward_cached(params, tokens[:, None], state.cache.lengths[:, None],
                                         feed.astype(jnp.int32), state.cache, config,
                                         logits_at=jnp.zeros((B,), jnp.int32))
    new_state = dataclasses.replace(
        state, cache=cache, logits=jnp.where(feed[:, None], logits, state.logits),
        active=feed, finish=jnp.where(done, finish, state.finish), generated=generated,
        sample_count=state.sample_count + active)
    out_tokens = out_tokens.at[:, i].set(jnp.where(active, tokens, 0))
    out_logprobs = out_logprobs.at[:, i].set(jnp.where(active, logprobs, 0.0))
    out_valid = out_valid.at[:, i].set(active)
    return i + 1, new_state, out_tokens, out_logprobs, out_valid

  _, state, out_tokens, out_logprobs, out_valid = jax.lax.while_loop(
      cond, body, (jnp.int32(0), state, out_tokens, out_logprobs, out_valid))
  return state, out_tokens, out_logprobs, out_valid


def broadcast_groups(state: DecodeState, n: int) -> DecodeState:
  """Repeats each slot n times (slot i -> slots i*n .. i*n+n-1): one prefill, n samples."""
  if n == 1:
    return state
  axes = state_logical_axes(state.cache.num_layers)
  return jax.tree.map(lambda a, x: constrain(jnp.repeat(x, n, axis=0), a), axes, state,
                      is_leaf=lambda a: isinstance(a, tuple))


# Every array of a DecodeState has the slot on axis 0; an extend reads and writes only the
# cache's first `window` positions of its rows (K is [B, K, Dh, S], V is [B, K, S, Dh]).
def _take_rows(state: DecodeState, rows: jax.Array, window: int) -> DecodeState:
  sub = jax.tree.map(lambda x: x[rows], dataclasses.replace(state, cache=None))
  cache = KVCache(k=[k[rows, :, :, :window] for k in state.cache.k],
                  v=[v[rows, :, :window] for v in state.cache.v], lengths=state.cache.lengths[rows])
  return dataclasses.replace(sub, cache=cache)


def _put_rows(state: DecodeState, rows: jax.Array, sub: DecodeState, window: int) -> DecodeState:
  put = lambda x, y: x.at[rows].set(y, mode="drop")
  rest = jax.tree.map(put, dataclasses.replace(state, cache=None),
                      dataclasses.replace(sub, cache=None))
  cache = KVCache(
      k=[k.at[rows, :, :, :window].set(y, mode="drop") for k, y in zip(state.cache.k, sub.cache.k)],
      v=[v.at[rows, :, :window].set(y, mode="drop") for v, y in zip(state.cache.v, sub.cache.v)],
      lengths=put(state.cache.lengths, sub.cache.lengths))
  return dataclasses.replace(rest, cache=cache)


def _resolve_window(state: DecodeState, window: int | None) -> int:
  """The static window of a row extend or copy: None = the whole cache."""
  window = window or state.cache.max_len
  if not 0 < window <= state.cache.max_len:
    raise ValueError(f"window {window} outside (0, cache length {state.cache.max_len}]")
  return window


def extend_rows(params: llama.Params, state: DecodeState, rows: jax.Array, tokens: jax.Array,
                num_new: jax.Array, reset: jax.Array, settings: dict[str, jax.Array],
                config: LlamaConfig, window: int | None = None) -> DecodeState:
  """Extends only the slots `rows` [b] (b <= B; index B = padding, ignored): compute scales with b.

  reset [b]: start a new episode in that slot (its cache is emptied first). settings: per-row
  key_data [b, 2], temperature [b], top_p [b], max_new [b] (the turn's budget), stop_ids [b, NS].
  window (static): the extend reads, attends over and writes back only the first `window` cache
  positions of its rows, so its cost scales with the context the rows have, not the cache size.
  The caller guarantees every row's length after the extend is <= window (None = the whole cache).
  """
  B = state.batch_size
  window = _resolve_window(state, window)
  sub = _take_rows(state, jnp.minimum(rows, B - 1), window)
  sub = dataclasses.replace(
      sub, cache=dataclasses.replace(sub.cache, lengths=jnp.where(reset, 0, sub.cache.lengths)),
      sample_count=jnp.where(reset, 0, sub.sample_count),
      active=jnp.where(reset, False, sub.active), **settings)
  sub = extend(params, sub, tokens, num_new, config)
  return _put_rows(state, rows, sub, window)


def decode_rows(params: llama.Params, state: DecodeState, rows: jax.Array, num_steps: int,
                config: LlamaConfig, top_k: int = 0, window: int | None = None
                ) -> tuple[DecodeState, jax.Array, jax.Array, jax.Array]:
  """decode on the slots `rows` [b] only (index B = padding, never sampled): compute scales with
  b, not the slot count, when most slots are parked. Outputs are per row [b, num_steps]. The
  window is as in decode; each slot's tokens equal a whole-batch decode's (per-slot keys)."""
  B = state.batch_size
  window = _resolve_window(state, window)
  sub = _take_rows(state, jnp.minimum(rows, B - 1), window)
  sub = dataclasses.replace(sub, active=sub.active & (rows < B))
  sub, out_tokens, out_logprobs, out_valid = _decode_loop(params, sub, num_steps, config, top_k,
                                                          state.cache.max_len)
  return _put_rows(state, rows, sub, window), out_tokens, out_logprobs, out_valid


def copy_rows(state: DecodeState, src: jax.Array, dst: jax.Array, settings: dict[str, jax.Array],
              window: int | None = None) -> DecodeState:
  """Copies slots src [b] into slots dst [b] (dst index B = padding, ignored): the first `window`
  cache positions, length, logits and sampling status. Each dst row keeps its own `settings`
  (as in extend_rows). A group of episodes with one prompt prefills it once and copies it."""
  B = state.batch_size
  window = _resolve_window(state, window)
  sub = _take_rows(state, jnp.minimum(src, B - 1), window)
  return _put_rows(state, dst, dataclasses.replace(sub, **settings), window)
