"""Multi-turn rollout engine: many episodes, each a conversation with its own environment.

The device holds one DecodeState with `num_slots` slots. The host loop:
  1. fills free slots with waiting episodes (their rendered prompt is a pending extend);
  2. runs one batched extend for all slots with pending tokens (a new prompt, or the stop token +
     an observation + the assistant header) — the history is never re-prefilled;
  3. runs a decode chunk (`chunk_steps` device steps) on every active slot;
  4. hands each slot that ended its turn to a worker thread, which parses the action, steps that
     slot's environment and renders the observation tokens, while the other slots keep decoding.
Episodes end on env done, max turns, max tokens or a full context. Nothing is re-tokenized: the
episode's tokens are the prompt ids, the sampled ids and the rendered observation ids.

With overlap=False the engine is the turn-barrier baseline: every slot waits for the slowest.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np
from absl import logging

from selfchallenge_jax.sampling import programs as sampling_programs
from selfchallenge_jax.sharding.program import Program, ProgramTable
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.episode_source import ListSource, QueueSource
from selfchallenge_jax.rollout.engine_options import EngineOptions
from selfchallenge_jax.rollout.extend_shapes import ExtendShapes
from selfchallenge_jax.sampling import decode as dec
from selfchallenge_jax.sampling.sampler import Sampler, slot_key_data
from selfchallenge_jax.tokenizer.chat_base import ChatFormat
from selfchallenge_jax.tokenizer.tool_calls import ToolCall


@dataclasses.dataclass
class EngineStats:
  wall_s: float = 0.0
  decode_s: float = 0.0        # device decode chunks (incl. the host sync that ends each)
  extend_s: float = 0.0        # device extend-prefills
  env_wait_s: float = 0.0      # host idle, waiting for environment steps
  decode_steps: int = 0
  sampled_tokens: int = 0
  extends: int = 0             # extend-prefill calls (each reads every weight once)
  shared_prefills: int = 0     # new episodes that copied another slot's prefill of their prompt
  extend_tokens: int = 0       # tokens the extends appended
  extend_token_rows: int = 0   # rows x tokens the extends computed, padding included

  @property
  def device_fraction(self) -> float:
    return (self.decode_s + self.extend_s) / max(self.wall_s, 1e-9)

  @property
  def decode_fraction(self) -> float:
    return self.decode_s / max(self.wall_s, 1e-9)


@dataclasses.dataclass
class _StepResult:
  append: list[int] | None     # tokens to extend with, or None when the episode ends
  reason: str | None


class RolloutEngine:
  """min_extend_rows / extend_overhead_tokens say what an extend costs, so the engine can pick its
  shapes (extend_shapes.py: keep the defaults on an accelerator; on CPU min_extend_rows=1 and a
  small overhead split the pending rows into extends of similar lengths).
  compact_decode: a decode chunk runs on the decoding slots only (in a row bucket), not on all
  num_slots; worth it where a step's cost grows with its rows (CPU; the KV reads anywhere).
  """

  def __init__(self, sampler: Sampler, chat: ChatFormat, **options: Any):
    """`options`: engine_options.EngineOptions fields (num_slots required), validated there."""
    opts = EngineOptions(**options)
    if len(chat.stop_ids) > sampler.max_stop_ids:
      raise ValueError(f"chat format has {len(chat.stop_ids)} stop ids; sampler allows "
                       f"{sampler.max_stop_ids}")
    self.sampler, self.chat, self.options, self.num_slots = sampler, chat, opts, opts.num_slots
    self.max_turns, self.max_turn_tokens = opts.max_turns, opts.max_turn_tokens
    self.max_episode_tokens, self.chunk_steps = opts.max_episode_tokens, opts.chunk_steps
    self.temperature, self.top_p, self.overlap = opts.temperature, opts.top_p, opts.overlap
    self.shapes = ExtendShapes(opts.num_slots, sampler.cache_len, opts.min_extend_rows,
                               opts.extend_overhead_tokens)
    self.compact_decode = opts.compact_decode
    self.stats = EngineStats()
    self._pool = cf.ThreadPoolExecutor(max_workers=opts.env_threads, thread_name_prefix="env")
    self._stop = np.full((sampler.max_stop_ids,), -1, np.int32)
    self._stop[:len(chat.stop_ids)] = chat.stop_ids
    self._programs = ProgramTable()

  def close(self) -> None:
    self._pool.shutdown(wait=True)

  # ---- programs (sampling/programs.py), built once each in this engine's table ---------------
  def init_program(self) -> Program:
    return self._programs.get(("init",), lambda: sampling_programs.init_state(
        self.sampler.spec, self.num_slots))

  def extend_program(self, rows: int, length: int, window: int) -> Program:
    return self._programs.get(("extend", rows, length, window), lambda: sampling_programs
                              .extend_rows(self.sampler.spec, self.num_slots, window))

  def decode_rows_program(self, rows: int, window: int) -> Program:
    return self._programs.get(("decode_rows", rows, window), lambda: sampling_programs
                              .decode_rows(self.sampler.spec, self.num_slots, self.chunk_steps,
                                           window))

  def copy_program(self, rows: int, window: int) -> Program:
    return self._programs.get(("copy", rows, window), lambda: sampling_programs.copy_rows(
        self.sampler.spec, self.num_slots, window))

  @property
  def programs(self) -> list:
    """Keys of every program this engine and its sampler have built (tests, precompile checks)."""
    return self._programs.keys() + self.sampler.programs.keys()

  # ---- host loop ------------------------------------------------------------------------------
  def run(self, specs: Sequence[ep.EpisodeSpec], seed: int = 0,
          on_episode_end: Callable[[int, ep.Episode], None] | None = None) -> list[ep.Episode]:
    """Runs every episode to its end; returns them in the order of `specs`.

    on_episode_end(index, episode) is called on the host thread as each episode ends (e.g. to
    start verifying it while the other slots keep sampling); it must not block.
    """
    results: dict[int, ep.Episode] = {}

    def done(index: int, episode: ep.Episode) -> None:
      results[index] = episode
      if on_episode_end is not None:
        on_episode_end(index, episode)
    self.serve(ListSource(specs), seed, on_episode_end=done)
    return [results[i] for i in range(len(specs))]

  def serve(self, source: ListSource | QueueSource, seed: int = 0,
            on_episode_end: Callable[[int, ep.Episode], None] | None = None,
            on_tokens: Callable[[int, list[int]], None] | None = None) -> None:
    """Runs episodes as `source` hands them out until it is exhausted and every slot is empty:
    a free slot takes the next waiting episode before each decode chunk (continuous batching).

    on_tokens(index, ids) after each decode chunk with the tokens an episode just sampled (for
    streaming); on_episode_end(index, episode) as each ends (CANCELLED when the source cancelled
    it). Both run on the loop's thread and must not block.
    """
    start_time = time.perf_counter()
    state = self.init_program()()
    slots: list[tuple[int, ep.EpisodeBuffer] | None] = [None] * self.num_slots
    pending: dict[int, tuple[list[int], bool]] = {}       # slot -> (tokens to append, new episode)
    in_env: dict[int, cf.Future] = {}
    to_env: list[int] = []          # slots whose turn ended, not yet handed to a worker
    decoding: set[int] = set()
    held_chunks = 0                 # decode chunks run while `pending` waited
    key_data = np.zeros((self.num_slots, 2), np.uint32)
    sampling = np.zeros((self.num_slots, 2), np.float32)     # per slot: temperature, top_p
    cancelling: set[int] = set()    # cancelled slots still in their environment step

    def collect_env_steps() -> None:
      for slot, future in list(in_env.items()):
        if future.done():
          del in_env[slot]
          if slot in cancelling:
            cancelling.discard(slot)
            end(slot, ep.CANCELLED)
          else:
            self._apply_step(slot, future.result(), slots, pending, end)

    def end(slot: int, reason: str) -> None:
      index, buf = slots[slot]
      slots[slot] = None
      source.forget(index)
      if on_episode_end is not None:
        on_episode_end(index, buf.finish(reason))

    def drop_cancelled() -> None:
      cancelled = source.cancelled()
      for slot, occupant in enumerate(slots):
        if occupant is None or occupant[0] not in cancelled or slot in cancelling:
          continue
        decoding.discard(slot)        # the device row decodes on unseen until a new episode
        pending.pop(slot, None)       # resets it; nothing reads it meanwhile
        if slot in to_env:
          to_env.remove(slot)
        if slot in in_env:            # its environment step finishes first (collect ends it)
          cancelling.add(slot)
        else:
          end(slot, ep.CANCELLED)

    while not source.exhausted() or any(s is not None for s in slots):
      drop_cancelled()
      for slot in range(self.num_slots):                      # 1. fill free slots
        if slots[slot] is not None:
          continue
        item = source.take()
        if item is None:
          break
        index, spec = item
        prompt = list(spec.prompt_ids) if spec.prompt_ids is not None else self.chat.render(
            spec.messages, tools=spec.tools, add_generation_prompt=True).ids
        buf = ep.EpisodeBuffer(spec=spec, tokens=[], loss_mask=[], logprobs=[])
        buf.add_context(prompt)
        slots[slot] = (index, buf)
        key_data[slot] = slot_key_data(seed, np.asarray([spec.stream_id]))[0]
        sampling[slot] = (self.temperature if spec.temperature is None else spec.temperature,
                          self.top_p if spec.top_p is None else spec.top_p)
        if len(prompt) >= self.sampler.cache_len:
          end(slot, ep.CONTEXT_FULL)
          continue
        pending[slot] = (prompt, True)
      if all(s is None for s in slots):                         # idle: wait for work
        source.wait()
        continue

      collect_env_steps()                                       # 4b. collect environment steps

      # The barrier baseline keeps the device idle while any environment is stepping. The engine
      # waits only while more slots are in their environments than decoding or extending: a
      # decode step costs the same however few slots are active, so a thin chunk would be wasted.
      # It waits for the first returns, never for the slowest environment.
      while self.overlap and in_env and len(decoding) + len(pending) < len(in_env):
        t0 = time.perf_counter()
        cf.wait(list(in_env.values()), return_when=cf.FIRST_COMPLETED)
        self.stats.env_wait_s += time.perf_counter() - t0
        collect_env_steps()
      device_free = self.overlap or not in_env
      # An extend reads every weight however few rows it carries: while others decode, rows that
      # come back from their environments wait up to one decode chunk and extend together.
      batch_up = bool(decoding) and held_chunks == 0 and 4 * len(pending) < len(decoding)
      if pending and device_free and not batch_up:              # 2. one batched extend
        t0 = time.perf_counter()
        state = self._extend(state, pending, slots, key_data, sampling)
        jax.block_until_ready(state.active)
        self.stats.extend_s += time.perf_counter() - t0
        self.stats.extends += 1
        decoding.update(pending)
        pending.clear()
        held_chunks = 0

      ran_decode = bool(decoding) and device_free
      if ran_decode:                                            # 3. a decode chunk
        t0 = time.perf_counter()
        # The chunk reads only the cache window its slots' contexts can reach (a bounded set
        # of buckets, like the extends'), not the whole cache.
        window = self.shapes.window_bucket(max(slots[i][1].cached for i in decoding) + self.chunk_steps)
        state, toks, lps, valid = self._decode_chunk(state, decoding, window)
        active, finish = np.asarray(state.active), np.asarray(state.finish)
        self.stats.decode_s += time.perf_counter() - t0
        self.stats.decode_steps += int(valid.any(axis=0).sum())
        held_chunks += bool(pending)
        for slot in sorted(decoding):
          index, buf = slots[slot]
          n = int(valid[slot].sum())
          new_ids = toks[slot][valid[slot]].tolist()
          buf.add_sampled(new_ids, lps[slot][valid[slot]].tolist())
          if on_tokens is not None and n:
            on_tokens(index, new_ids)
          self.stats.sampled_tokens += n
          buf.cached += n
          if active[slot]:
            continue
          buf.cached -= 1                                      # the last token was not fed back
          decoding.discard(slot)
          buf.turns.append((buf.turn_start, len(buf.tokens)))
          reason = int(finish[slot])
          if reason == dec.CONTEXT_FULL:
            end(slot, ep.CONTEXT_FULL)
          elif reason == dec.MAX_TOKENS and buf.sampled >= self.max_episode_tokens:
            end(slot, ep.MAX_TOKENS)
          else:
            to_env.append(slot)

      if to_env and (self.overlap or not decoding):             # 4. step envs off-thread
        for slot in to_env:
          _, buf = slots[slot]
          in_env[slot] = self._pool.submit(self._env_step, buf, buf.tokens[buf.turn_start:])
        to_env.clear()
      if not ran_decode and in_env:                             # nothing to decode: wait
        t0 = time.perf_counter()
        cf.wait(list(in_env.values()),
                return_when=cf.FIRST_COMPLETED if self.overlap else cf.ALL_COMPLETED)
        self.stats.env_wait_s += time.perf_counter() - t0
    self.stats.wall_s += time.perf_counter() - start_time

  def _decode_chunk(self, state, decoding: set[int], window: int):
    """One decode chunk; returns (state, tokens, logprobs, valid), each [num_slots, chunk_steps]
    on the host. Compact: only the decoding slots' rows run, scattered back to their slots."""
    b = self.shapes.row_bucket(len(decoding))
    if not self.compact_decode or b >= self.num_slots:
      state, toks, lps, valid = self.sampler.decode_program(
          self.num_slots, self.chunk_steps, window if window < self.sampler.cache_len else None)(
              self.sampler.params, state)
      return state, np.asarray(toks), np.asarray(lps), np.asarray(valid)
    row_ids = np.full((b,), self.num_slots, np.int32)
    row_ids[:len(decoding)] = sorted(decoding)
    state, *per_row = self.decode_rows_program(b, window)(self.sampler.params, state, row_ids)
    rows, outs = row_ids[:len(decoding)], []
    for out in per_row:                            # tokens, logprobs, valid: [b, chunk_steps]
      out = np.asarray(out)
      full = np.zeros((self.num_slots, self.chunk_steps), out.dtype)
      full[rows] = out[:len(rows)]
      outs.append(full)
    return (state, *outs)

  def _apply_step(self, slot, result: _StepResult, slots, pending, end) -> None:
    _, buf = slots[slot]
    if result.append is None:
      end(slot, result.reason)
      return
    if buf.cached + len(result.append) >= self.sampler.cache_len:
      end(slot, ep.CONTEXT_FULL)
      return
    pending[slot] = (result.append, False)

  def _env_step(self, buf: ep.EpisodeBuffer, turn: list[int]) -> _StepResult:
    """Worker thread: parse the turn, step the environment, render the observation."""
    try:
      return self._env_step_unsafe(buf, turn)
    except Exception as e:  # pylint: disable=broad-except
      # An environment bug must not take down the other episodes of the batch.
      logging.exception("environment step failed; ending the episode (tag=%r)", buf.spec.tag)
      return _StepResult(None, f"{ep.ENV_ERROR}: {type(e).__name__}: {e}")

  def _env_step_unsafe(self, buf: ep.EpisodeBuffer, turn: list[int]) -> _StepResult:
    stop_ids = set(self.chat.stop_ids)
    text_ids = turn[:-1] if turn and turn[-1] in stop_ids else turn
    action = self.chat.parse_assistant(self.chat.tokenizer.decode(text_ids))
    env = buf.spec.env
    if isinstance(action, ToolCall):
      message = {"role": "ipython", "content": env.call_tool(action.name, action.arguments)}
    else:
      message = {"role": "user", "content": env.respond(action)}
    if env.done:
      return _StepResult(None, ep.ENV_DONE)
    if len(buf.turns) >= self.max_turns:
      return _StepResult(None, ep.MAX_TURNS)
    if buf.sampled >= self.max_episode_tokens:
      return _StepResult(None, ep.MAX_TOKENS)
    # The turn's last sampled token (its stop token, or the last token of a turn cut by the
    # per-turn budget) was never fed to the cache: it leads the extend.
    return _StepResult([turn[-1]] + self.chat.continue_after_turn(message), None)

  def precompile(self, extend_lengths: Sequence[int]) -> int:
    """Compiles every extend program a run with appends of these lengths can use (all row and
    window buckets), every prefill-copy program and the decode chunk of every window, so no
    compile lands inside a timed or latency-sensitive run. Returns the number of programs."""
    S = self.sampler.cache_len
    token_buckets = sorted({self.shapes.token_bucket(n) for n in extend_lengths})
    windows, row_buckets = self.shapes.all_windows(), self.shapes.all_row_buckets()
    count = 0
    for b in row_buckets:
      padding = np.full((b,), self.num_slots, np.int32)         # every row dropped
      settings = self._settings(padding, {}, np.zeros((self.num_slots, 2), np.uint32))
      for window in windows:
        self.copy_program(b, window)(self.init_program()(), np.zeros((b,), np.int32), padding,
                                     settings)
        count += 1
        for T in (t for t in token_buckets if t <= window):
          self.extend_program(b, T, window)(
              self.sampler.params, self.init_program()(), padding, np.zeros((b, T), np.int32),
              np.zeros((b,), np.int32), np.zeros((b,), bool), settings)
          count += 1
    for window in windows:
      decode = self.sampler.decode_program(self.num_slots, self.chunk_steps,
                                           window if window < S else None)
      jax.block_until_ready(decode(self.sampler.params, self.init_program()()))
      count += 1
      for b in row_buckets if self.compact_decode else ():
        if b < self.num_slots:
          padding = np.full((b,), self.num_slots, np.int32)
          jax.block_until_ready(self.decode_rows_program(b, window)(
              self.sampler.params, self.init_program()(), padding))
          count += 1
    return count

  def _extend(self, state, pending, slots, key_data, sampling):
    """The batched extends of the pending rows (one, or one per length group; see the class
    docstring). New episodes whose prompt another pending row also starts with (a GRPO group)
    copy that row's prefill instead of computing it again."""
    max_new: dict[int, int] = {}
    computes: dict[tuple[int, ...], int] = {}               # prompt -> the slot prefilling it
    computed, copies = [], []                               # slots; (slot, source slot)
    for slot in sorted(pending):
      ids, new_episode = pending[slot]
      _, buf = slots[slot]
      if new_episode:
        buf.cached = 0
      else:
        buf.add_context(ids[1:])          # ids[0] is the turn's last sampled token, already kept
      buf.cached += len(ids)
      buf.turn_start = len(buf.tokens)
      turn_budget = buf.spec.max_turn_tokens or self.max_turn_tokens
      max_new[slot] = min(turn_budget, self.max_episode_tokens - buf.sampled)
      if new_episode and tuple(ids) in computes:
        copies.append((slot, computes[tuple(ids)]))
        continue
      computed.append(slot)
      if new_episode:
        computes[tuple(ids)] = slot
    for group in self.shapes.length_groups([len(pending[slot][0]) for slot in computed]):
      rows = [computed[i] for i in group]
      state = self._extend_rows(state, rows, pending, slots, max_new, key_data, sampling)
    if copies:
      window = self.shapes.window_bucket(max(slots[slot][1].cached for slot, _ in copies))
      b = self.shapes.row_bucket(len(copies))
      dst = np.full((b,), self.num_slots, np.int32)
      src = np.zeros((b,), np.int32)
      for i, (slot, source) in enumerate(copies):
        dst[i], src[i] = slot, source
      state = self.copy_program(b, window)(state, src, dst,
                                           self._settings(dst, max_new, key_data, sampling))
      self.stats.shared_prefills += len(copies)
    return state

  def _extend_rows(self, state, rows, pending, slots, max_new, key_data, sampling):
    """One extend program call for `rows` (slots with pending tokens)."""
    window = self.shapes.window_bucket(max(slots[r][1].cached for r in rows))    # lengths after
    b = self.shapes.row_bucket(len(rows))
    T = self.shapes.token_bucket(max(len(pending[r][0]) for r in rows))
    row_ids = np.full((b,), self.num_slots, np.int32)
    tokens = np.zeros((b, T), np.int32)
    num_new = np.zeros((b,), np.int32)
    reset = np.zeros((b,), bool)
    for i, slot in enumerate(rows):
      ids, new_episode = pending[slot]
      row_ids[i], num_new[i], reset[i] = slot, len(ids), new_episode
      tokens[i, :len(ids)] = ids
    self.stats.extend_tokens += int(num_new.sum())
    self.stats.extend_token_rows += b * T
    return self.extend_program(b, T, window)(self.sampler.params, state, row_ids, tokens, num_new,
                                             reset, self._settings(row_ids, max_new, key_data,
                                                                   sampling))

  def _settings(self, row_ids: np.ndarray, max_new: dict[int, int], key_data: np.ndarray,
                sampling: np.ndarray | None = None):
    """Per-row sampling settings of extend/copy rows (row id num_slots = padding); `sampling`:
    each slot's (temperature, top_p), default the engine's."""
    b = len(row_ids)
    rows = np.minimum(row_ids, self.num_slots - 1)
    if sampling is None:
      sampling = np.tile(np.asarray([self.temperature, self.top_p], np.float32),
                         (self.num_slots, 1))
    return dict(key_data=key_data[rows],
                temperature=sampling[rows, 0].astype(np.float32),
                top_p=sampling[rows, 1].astype(np.float32),
                max_new=np.asarray([max_new.get(int(r), 0) for r in row_ids], np.int32),
                stop_ids=np.broadcast_to(self._stop, (b, len(self._stop))).copy())
