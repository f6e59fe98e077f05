"""The KV-cache sampler agrees with the training forward: greedy tokens, logprobs, groups, sharding."""

import jax
import numpy as np
import pytest

from selfchallenge_jax.model import get_config, init_params, llama
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.sharding import make_mesh

CONFIG = get_config("tiny-3.1", vocab_size=128, max_seq_len=256)
PROMPTS = [[1, 5, 9, 14, 3, 7, 22], [1, 40], [1, 8, 8, 8, 9, 11, 60, 61, 62, 63, 64, 65, 66, 67, 68,
                                           69, 70, 71, 72]]


@pytest.fixture(scope="module")
def params():
  # A larger init scale so the distribution is far from uniform and greedy choices are clear-cut.
  return init_params(CONFIG, jax.random.key(3), std=0.2)


def _full_logits(params, seq):
  tokens = np.asarray([seq], np.int32)
  positions = np.arange(len(seq), dtype=np.int32)[None]
  return np.asarray(llama.forward(params, tokens, positions, np.ones_like(tokens, bool), CONFIG))[0]


def test_greedy_equals_argmax_of_full_forward_every_step(params):
  sampler = Sampler(params, CONFIG, cache_len=64)
  outs = sampler.generate(PROMPTS, max_new_tokens=12, temperature=0.0)
  for prompt, out in zip(PROMPTS, outs):
    assert len(out.tokens) == 12 and out.finish_reason == "max_tokens"
    # One fresh full forward over prompt + generated tokens: by causality, position t's logits are
    # those of a full forward of the first t + 1 tokens, so this checks every step.
    logits = _full_logits(params, list(prompt) + out.tokens)
    expected = np.argmax(logits[len(prompt) - 1:-1], axis=-1)
    assert out.tokens == expected.tolist()


def test_logprobs_equal_teacher_forced(params):
  sampler = Sampler(params, CONFIG, cache_len=64)
  outs = sampler.generate(PROMPTS, max_new_tokens=10, temperature=1.0, top_p=0.9, seed=4)
  for prompt, out in zip(PROMPTS, outs):
    seq = list(prompt) + out.tokens
    logp = jax.nn.log_softmax(_full_logits(params, seq), axis=-1)
    forced = [float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(out.tokens)]
    np.testing.assert_allclose(out.logprobs, forced, atol=1e-4)


def test_stop_tokens_and_context_full(params):
  sampler = Sampler(params, CONFIG, cache_len=32)
  greedy = sampler.generate(PROMPTS[:1], max_new_tokens=8, temperature=0.0)[0]
  stop = greedy.tokens[3]
  out = sampler.generate(PROMPTS[:1], max_new_tokens=8, temperature=0.0, stop_ids=[stop])[0]
  first = greedy.tokens.index(stop)
  assert out.tokens == greedy.tokens[:first + 1] and out.finish_reason == "stop"
  full = sampler.generate([PROMPTS[2]], max_new_tokens=30, temperature=0.0)[0]
  # 19 prompt tokens + generated tokens fed back must fit in 32 cache entries.
  assert full.finish_reason == "context_full" and len(full.tokens) == 32 - 19 + 1


def test_groups_share_one_prefill_and_equal_independent_prefills(params):
  sampler = Sampler(params, CONFIG, cache_len=64)
  grouped = sampler.generate(PROMPTS[:1], n=4, max_new_tokens=10, temperature=1.0, seed=7)
  independent = sampler.generate(PROMPTS[:1] * 4, n=1, max_new_tokens=10, temperature=1.0, seed=7)
  assert [o.tokens for o in grouped] == [o.tokens for o in independent]
  np.testing.assert_allclose([o.logprobs for o in grouped], [o.logprobs for o in independent],
                             atol=1e-5)
  assert len({tuple(o.tokens) for o in grouped}) > 1      # the n samples differ from each other


def test_same_seed_same_tokens_on_1_and_8_devices(params):
  single = Sampler(jax.device_put(params, jax.devices()[0]), CONFIG, cache_len=64)
  sharded = Sampler(params, CONFIG, cache_len=64, mesh=make_mesh((2, 2, 2)))
  kwargs = dict(n=2, max_new_tokens=10, temperature=1.0, top_p=0.95, seed=11)
  a = single.generate(PROMPTS, **kwargs)
  b = sharded.generate(PROMPTS, **kwargs)
  assert [o.tokens for o in a] == [o.tokens for o in b]
  np.testing.assert_allclose([x for o in a for x in o.logprobs], [x for o in b for x in o.logprobs],
                             atol=1e-5)


def test_bad_input(params):
  sampler = Sampler(params, CONFIG, cache_len=32)
  with pytest.raises(ValueError, match="prompt 1 is empty"):
    sampler.generate([[1, 2], []])
  with pytest.raises(ValueError, match="prompt 0 has 40 tokens; the context"):
    sampler.generate([list(range(1, 41))])
  with pytest.raises(ValueError, match=r"unknown stop token id\(s\) \[500\]"):
    sampler.generate([[1, 2]], stop_ids=[500])
  with pytest.raises(ValueError, match="no prompts"):
    sampler.generate([])
  with pytest.raises(ValueError, match="exceeds the model's max_seq_len"):
    Sampler(params, CONFIG, cache_len=1024)
