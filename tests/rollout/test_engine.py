"""The multi-turn engine: exact token bookkeeping, logprobs across appends, end reasons, overlap."""

import dataclasses
import time

import jax
import numpy as np
import pytest

from chat_fixtures import make_chat
from selfchallenge_jax.envs.base import Environment, function_schema
from selfchallenge_jax.model import get_config, init_params, llama
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.sampling.sampler import prompt_bucket
from selfchallenge_jax.sampling import decode as dec


class ScriptedEnv(Environment):
  """Replies "ok <n>" to anything; done after `done_after` replies (never when None)."""
  name = "scripted"

  def __init__(self, done_after=None, sleep_s=0.0):
    super().__init__()
    self.done_after, self.sleep_s, self.replies = done_after, sleep_s, 0

  @property
  def tools(self):
    return [function_schema("echo", "Echoes text.", {"text": {"type": "string"}})]

  def reset(self, seed=None, **kwargs):
    return "hello"

  def _tool_functions(self):
    return {"echo": lambda text: text}

  def state(self):
    return {"replies": self.replies}

  def _on_respond(self, content):
    time.sleep(self.sleep_s)
    self.replies += 1
    if self.done_after is not None and self.replies >= self.done_after:
      self.answer, self.done = content, True
      return ""
    return f"ok {self.replies}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
  tokenizer, chat = make_chat(tmp_path_factory.mktemp("tok"))
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, max_seq_len=512)
  params = init_params(config, jax.random.key(0), std=0.05)
  return tokenizer, chat, config, params


def _specs(n, **env_kwargs):
  return [ep.EpisodeSpec(env=ScriptedEnv(**env_kwargs),
                         messages=[{"role": "system", "content": "You are helpful."},
                                   {"role": "user", "content": f"Task number {i}."}],
                         stream_id=i, tag=i) for i in range(n)]


def _engine(setup, **kw):
  tokenizer, chat, config, params = setup
  sampler = Sampler(params, config, cache_len=kw.pop("cache_len", 256))
  defaults = dict(num_slots=4, max_turns=3, max_turn_tokens=12, max_episode_tokens=64,
                  chunk_steps=5)
  defaults.update(kw)
  return RolloutEngine(sampler, chat, **defaults)


def _check_episode(e, spec, setup):
  """Exact bookkeeping, and sampler logprobs equal to the training forward's teacher forcing."""
  tokenizer, chat, config, params = setup
  assert len(e.tokens) == len(e.loss_mask) == len(e.logprobs)
  # The conversation starts with the rendered prompt; every sampled region is a turn.
  prompt = chat.render(spec.messages).ids
  assert e.tokens[:len(prompt)] == prompt
  mask = np.asarray(e.loss_mask)
  covered = np.zeros_like(mask)
  for start, end in e.turns:
    covered[start:end] = 1
  np.testing.assert_array_equal(mask, covered)
  # Observations were appended as rendered (stop token, observation message, assistant header).
  for (_, end), (nxt, _) in zip(e.turns, e.turns[1:]):
    between = e.tokens[end:nxt]
    assert between[-len(chat.generation_prompt()):] == chat.generation_prompt()
  # Sampler logprobs equal the training forward's teacher-forced logprobs on the full sequence.
  tokens = np.asarray([e.tokens], np.int32)
  positions = np.arange(len(e.tokens), dtype=np.int32)[None]
  logits = llama.forward(params, tokens, positions, np.ones_like(tokens, bool), config)
  logp = np.asarray(jax.nn.log_softmax(logits[0, :-1], axis=-1))
  forced = logp[np.arange(len(e.tokens) - 1), tokens[0, 1:]]
  sampled = mask[1:] == 1
  np.testing.assert_allclose(np.asarray(e.logprobs)[1:][sampled], forced[sampled], atol=1e-4)


def test_multi_turn_tokens_and_logprobs_match_teacher_forcing(setup):
  engine = _engine(setup)
  specs = _specs(6)
  episodes = engine.run(specs, seed=1)            # more episodes than slots: slots get refilled
  for i, e in enumerate(episodes):
    assert e.tag == i and e.end_reason == ep.MAX_TURNS and e.num_turns == 3
    _check_episode(e, specs[i], setup)
  assert engine.stats.shared_prefills == 0
  engine.close()


def test_compact_decode_keeps_exact_bookkeeping(setup):
  """Decode chunks on the decoding slots only: same tokens, logprobs equal teacher forcing."""
  engine = _engine(setup, num_slots=4, min_extend_rows=1, compact_decode=True)
  calls = []
  decode_rows_program = engine.decode_rows_program
  engine.decode_rows_program = lambda b, window: calls.append(b) or decode_rows_program(b, window)
  specs = _specs(6)                              # 6 episodes on 4 slots: the tail runs 1-2 rows
  try:
    episodes = engine.run(specs, seed=1)
  finally:
    engine.close()
  assert calls and min(calls) < 4
  for i, e in enumerate(episodes):
    assert e.end_reason == ep.MAX_TURNS and e.num_turns == 3
    _check_episode(e, specs[i], setup)


def test_group_prompts_share_one_prefill(setup):
  """Episodes with one prompt (a GRPO group) prefill it once; each copy samples its own stream
  and its logprobs still equal teacher forcing on its own conversation."""
  engine = _engine(setup, num_slots=4)
  specs = [dataclasses.replace(s, messages=_specs(3)[i // 2].messages) for i, s in
           enumerate(_specs(6))]                 # prompts 0 0 1 1 2 2, six streams
  episodes = engine.run(specs, seed=1)
  assert engine.stats.shared_prefills >= 2          # at least the first fill: prompts 0 0 1 1
  for e, spec in zip(episodes, specs):
    assert e.end_reason == ep.MAX_TURNS
    _check_episode(e, spec, setup)
  assert episodes[0].tokens != episodes[1].tokens   # same prompt, own random stream
  engine.close()


def test_end_reasons_and_final_state(setup):
  engine = _engine(setup, max_turns=5)
  done = engine.run(_specs(2, done_after=2), seed=2)
  for e in done:
    assert e.end_reason == ep.ENV_DONE and e.num_turns == 2
    assert e.final_state == {"replies": 2} and e.answer is not None
    assert sum(a["kind"] == "respond" for a in e.actions) == 2
  engine.close()
  engine = _engine(setup, max_turns=10, max_turn_tokens=12, max_episode_tokens=20)
  budget = engine.run(_specs(2), seed=3)
  assert all(e.end_reason == ep.MAX_TOKENS and sum(e.loss_mask) == 20 for e in budget)
  engine.close()
  engine = _engine(setup, max_turns=50, max_turn_tokens=12, max_episode_tokens=1000, cache_len=128)
  full = engine.run(_specs(2), seed=4)
  assert all(e.end_reason == ep.CONTEXT_FULL and len(e.tokens) <= 129 for e in full)
  engine.close()


def test_scheduling_does_not_change_episodes(setup):
  """Same seed: overlap vs turn barrier, different slot counts and extends split by length give
  identical episodes."""
  runs = []
  for kw in (dict(overlap=True, num_slots=4), dict(overlap=False, num_slots=4),
             dict(overlap=True, num_slots=2),
             dict(overlap=True, num_slots=4, min_extend_rows=1, extend_overhead_tokens=0),
             dict(overlap=True, num_slots=4, min_extend_rows=1, compact_decode=True)):
    engine = _engine(setup, **kw)
    runs.append([e.tokens for e in engine.run(_specs(4), seed=5)])
    engine.close()
  assert runs[0] == runs[1] == runs[2]


def test_bad_min_extend_rows_raises(setup):
  with pytest.raises(ValueError, match="min_extend_rows"):
    _engine(setup, min_extend_rows=0)


def test_append_leaves_cache_equal_to_full_prefill(setup):
  tokenizer, chat, config, params = setup
  params = llama.unstack_layers(params)
  B, S = 2, 64
  first = [[1, 5, 9, 11, 40, 41], [1, 7, 8]]
  second = [[12, 13, 14], [20, 21, 22, 23, 24]]
  state = dec.init_state(config, B, S, 2)
  tok = np.zeros((B, 8), np.int32)
  for b, p in enumerate(first):
    tok[b, :len(p)] = p
  state = dec.extend(params, state, tok, np.asarray([len(p) for p in first], np.int32), config)
  state = dataclasses.replace(state, max_new=np.full((B,), 4, np.int32),
                              key_data=np.zeros((B, 2), np.uint32),
                              temperature=np.zeros((B,), np.float32))
  state, out, _, valid = dec.decode(params, state, 4, config)
  generated = [np.asarray(out)[b][np.asarray(valid)[b]].tolist() for b in range(B)]
  # The budget-ended turn's last token is not in the cache: it leads the append, as in the engine.
  appended = [[g[-1]] + s for g, s in zip(generated, second)]
  tok = np.zeros((B, 8), np.int32)
  for b, a in enumerate(appended):
    tok[b, :len(a)] = a
  state = dec.extend(params, state, tok, np.asarray([len(a) for a in appended], np.int32), config)
  full = [f + g[:-1] + a for f, g, a in zip(first, generated, appended)]
  ref = dec.init_state(config, B, S, 2)
  tok = np.zeros((B, 32), np.int32)
  for b, f in enumerate(full):
    tok[b, :len(f)] = f
  ref = dec.extend(params, ref, tok, np.asarray([len(f) for f in full], np.int32), config)
  np.testing.assert_array_equal(np.asarray(state.cache.lengths), np.asarray(ref.cache.lengths))
  for b, f in enumerate(full):
    n = len(f)
    for layer in range(config.num_layers):
      np.testing.assert_allclose(state.cache.keys_at(layer, b, n), ref.cache.keys_at(layer, b, n),
                                 atol=1e-5)
      np.testing.assert_allclose(state.cache.values_at(layer, b, n),
                                 ref.cache.values_at(layer, b, n), atol=1e-5)
  np.testing.assert_allclose(np.asarray(state.logits), np.asarray(ref.logits), atol=1e-4)


def test_windowed_extend_rows_equals_whole_cache_extend(setup):
  """An extend over the first `window` cache positions gives the same cache and logits as one over
  the whole cache; the positions past the window and the rows not extended stay untouched."""
  tokenizer, chat, config, params = setup
  params = llama.unstack_layers(params)
  B, S, window = 4, 64, 16
  state = dec.init_state(config, B, S, 2)
  tok = np.zeros((B, 8), np.int32)
  tok[:, :5] = np.arange(1, 6)
  state = dec.extend(params, state, tok, np.full((B,), 5, np.int32), config)
  rows = np.asarray([2, 0, B], np.int32)             # B = padding
  tokens = np.zeros((3, 8), np.int32)
  tokens[0, :8] = np.arange(30, 38)
  tokens[1, :3] = [7, 8, 9]
  settings = dict(key_data=np.zeros((3, 2), np.uint32), temperature=np.ones((3,), np.float32),
                  top_p=np.ones((3,), np.float32), max_new=np.full((3,), 4, np.int32),
                  stop_ids=np.full((3, 2), -1, np.int32))
  args = (rows, tokens, np.asarray([8, 3, 0], np.int32), np.asarray([False, True, False]),
          settings, config)
  whole = dec.extend_rows(params, state, *args)
  windowed = dec.extend_rows(params, state, *args, window=window)
  for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(windowed)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
  np.testing.assert_array_equal(np.asarray(windowed.cache.lengths), [3, 5, 13, 5])
  with pytest.raises(ValueError, match="window"):
    dec.extend_rows(params, state, *args, window=S + 1)


def test_windowed_decode_equals_whole_cache_decode(setup):
  """A decode chunk over the first `window` cache positions samples the same tokens and logprobs
  and leaves the same cache as one over the whole cache, with a parked slot longer than the
  window left untouched; a slot whose whole cache fills still ends CONTEXT_FULL."""
  tokenizer, chat, config, params = setup
  params = llama.unstack_layers(params)
  B, S, window, steps = 4, 64, 32, 6
  state = dec.init_state(config, B, S, 2)
  tok = np.zeros((B, 48), np.int32)
  lengths = np.asarray([5, 9, 40, 3], np.int32)     # slot 2 is longer than the window: parked
  for b, n in enumerate(lengths):
    tok[b, :n] = np.arange(1, n + 1) % config.vocab_size
  state = dec.extend(params, state, tok, lengths, config)
  settings = dict(key_data=np.arange(2 * B, dtype=np.uint32).reshape(B, 2),
                  temperature=np.ones((B,), np.float32), max_new=np.full((B,), 50, np.int32),
                  active=np.asarray([True, True, False, True]))
  state = dataclasses.replace(state, **settings)
  whole = dec.decode(params, state, steps, config)
  windowed = dec.decode(params, state, steps, config, window=window)
  for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(windowed)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
  assert np.asarray(windowed[3])[[0, 1, 3]].all() and not np.asarray(windowed[3])[2].any()
  with pytest.raises(ValueError, match="window"):
    dec.decode(params, state, steps, config, window=S + 1)
  # Near the end of the real cache, a windowed chunk (window == S) ends the slot as before.
  full = dataclasses.replace(state, cache=dataclasses.replace(
      state.cache, lengths=np.asarray([S - 2, 9, 40, 3], np.int32)))
  _, _, _, valid = dec.decode(params, full, steps, config, window=S)
  assert int(np.asarray(valid)[0].sum()) == 3    # fed at S-2 and S-1, then CONTEXT_FULL


def test_precompile_covers_every_extend_of_a_run(setup):
  engine = _engine(setup, num_slots=4)
  try:
    # The prompts here are 65-128 tokens, the appends 17-32: token buckets {32, 128}; windows
    # {64, 128, 256} at least as long as the tokens; rows {4} (num_slots caps the minimum 8);
    # plus a prefill-copy program and a decode chunk per window.
    assert engine.precompile([20, 100]) == 3 + 2 + 3 + 3
    built = engine.programs
    specs = _specs(4)
    specs[1] = dataclasses.replace(specs[1], messages=specs[0].messages)   # a shared prompt
    episodes = engine.run(specs, seed=1)
    assert all(e.tokens for e in episodes) and engine.stats.shared_prefills == 1
    assert engine.programs == built           # the run built no program precompile had not
  finally:
    engine.close()
