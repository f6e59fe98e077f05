"""make_optimizer: schedule values, accumulation equals one big-batch step, decay mask, clipping."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from selfchallenge_jax.rl.optimizer import make_optimizer, no_decay_on_norms

LR, WARMUP, TOTAL, END = 1e-3, 10, 110, 0.1


def test_schedule_values():
  _, schedule = make_optimizer(LR, WARMUP, TOTAL, end_lr_ratio=END)
  at = lambda step: float(schedule(step))
  np.testing.assert_allclose(at(0), LR / WARMUP, rtol=1e-6)      # first update already moves
  np.testing.assert_allclose(at(4), LR * 5 / WARMUP, rtol=1e-6)
  np.testing.assert_allclose(at(WARMUP - 1), LR, rtol=1e-6)
  # Half-way through the decay: cosine factor 0.5 between lr and the end value.
  mid = WARMUP - 1 + (TOTAL - WARMUP) // 2
  np.testing.assert_allclose(at(mid), LR * END + (LR - LR * END) * 0.5, rtol=1e-5)
  decay_at = lambda step: LR * END + (LR - LR * END) * 0.5 * (1 + np.cos(np.pi * (step + 1 - WARMUP)
                                                                       / (TOTAL - WARMUP)))
  np.testing.assert_allclose(at(30), decay_at(30), rtol=1e-5)
  np.testing.assert_allclose(at(TOTAL - 1), LR * END, rtol=1e-5)
  np.testing.assert_allclose(at(TOTAL + 50), LR * END, rtol=1e-5)
  values = [at(s) for s in range(TOTAL)]
  assert values.index(max(values)) == WARMUP - 1


def _params():
  rng = np.random.default_rng(0)
  return {"layers": {"attn_norm": {"scale": jnp.ones((2, 4))},
                     "mlp": {"up_proj": jnp.asarray(rng.normal(size=(2, 4, 3)), jnp.float32)}},
          "final_norm": {"scale": jnp.ones((4,))},
          "lm_head": {"kernel": jnp.asarray(rng.normal(size=(4, 5)), jnp.float32)}}


def _grads(seed: int, scale: float):
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda p: jnp.asarray(scale * rng.normal(size=p.shape), jnp.float32),
                      _params())


def _assert_tree_close(a, b, **tol):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(x, y, **tol)


def _jit_step(opt):
  def step(grads, state, params):
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state
  return jax.jit(step)


def test_grad_accumulation_equals_one_big_batch_step():
  k = 3
  kw = dict(lr=1e-2, warmup_steps=2, total_steps=20, weight_decay=0.1, clip_norm=1.0)
  accum, _ = make_optimizer(**kw, grad_accum_steps=k)
  big, _ = make_optimizer(**kw, grad_accum_steps=1)
  p_acc, p_big = _params(), _params()
  s_acc, s_big = accum.init(p_acc), big.init(p_big)
  step_acc, step_big = _jit_step(accum), _jit_step(big)
  for rnd in range(3):    # several rounds: the schedule and Adam moments advance once per k calls
    micro = [_grads(10 * rnd + i, scale=5.0) for i in range(k)]   # norm >> 1: clipping is active
    assert float(optax.tree.norm(micro[0])) > 5.0
    for i, g in enumerate(micro):
      before = p_acc
      p_acc, s_acc = step_acc(g, s_acc, p_acc)
      if i < k - 1:          # no parameter change until the k-th micro-batch
        _assert_tree_close(p_acc, before, rtol=0, atol=0)
    mean = jax.tree.map(lambda *g: sum(g) / k, *micro)
    p_big, s_big = step_big(mean, s_big, p_big)
    _assert_tree_close(p_acc, p_big, rtol=1e-5, atol=1e-7)
  assert not np.allclose(p_big["lm_head"]["kernel"], _params()["lm_head"]["kernel"])


def test_weight_decay_skips_norm_scales():
  opt, schedule = make_optimizer(1e-2, 0, 10, weight_decay=0.5, clip_norm=None)
  params = _params()
  zeros = jax.tree.map(jnp.zeros_like, params)     # Adam's update is 0: only the decay acts
  new, _ = _jit_step(opt)(zeros, opt.init(params), params)
  shrink = 1 - float(schedule(0)) * 0.5
  np.testing.assert_allclose(new["lm_head"]["kernel"], params["lm_head"]["kernel"] * shrink,
                             rtol=1e-6)
  np.testing.assert_allclose(new["layers"]["mlp"]["up_proj"],
                             params["layers"]["mlp"]["up_proj"] * shrink, rtol=1e-6)
  np.testing.assert_array_equal(new["layers"]["attn_norm"]["scale"], 1.0)
  np.testing.assert_array_equal(new["final_norm"]["scale"], 1.0)
  mask = no_decay_on_norms(params)
  assert mask["lm_head"]["kernel"] and not mask["layers"]["attn_norm"]["scale"]


def test_clipping_rescales_large_gradients_to_clip_norm():
  # Adam is scale-invariant within one step, so clipping shows over two steps: a clipped huge
  # gradient followed by a small one must act as the huge one rescaled to norm 1, unclipped.
  kw = dict(lr=1e-2, warmup_steps=0, total_steps=10)
  clipped, _ = make_optimizer(**kw, clip_norm=1.0)
  plain, _ = make_optimizer(**kw, clip_norm=None)
  params = _params()
  big, small = _grads(1, scale=100.0), _grads(2, scale=0.01)
  assert float(optax.tree.norm(small)) < 1.0
  unit = jax.tree.map(lambda x: x / optax.tree.norm(big), big)

  def second_update(opt, g1, g2):
    u, state = opt.update(g1, opt.init(params), params)
    p = optax.apply_updates(params, u)
    return opt.update(g2, state, p)[0]
  expected = second_update(plain, unit, small)
  _assert_tree_close(second_update(clipped, big, small), expected, rtol=1e-5, atol=1e-9)
  unclipped = second_update(plain, big, small)
  assert not np.allclose(unclipped["lm_head"]["kernel"], expected["lm_head"]["kernel"], rtol=1e-3)


@pytest.mark.parametrize("kwargs", [dict(warmup_steps=10, total_steps=10),
                                    dict(warmup_steps=-1, total_steps=10),
                                    dict(warmup_steps=0, total_steps=10, grad_accum_steps=0)])
def test_bad_arguments_raise(kwargs):
  with pytest.raises(ValueError):
    make_optimizer(1e-3, **kwargs)
