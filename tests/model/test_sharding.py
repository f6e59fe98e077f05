"""Logits and gradients under 8-device meshes equal single-device ones; shardings follow the rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec as P

from selfchallenge_jax.model import get_config, init_params, llama
from selfchallenge_jax.model.partitioning import param_shardings, shard_params
from selfchallenge_jax.sharding import logical_to_spec, make_mesh, resolve_mesh_shape

CONFIG = get_config("tiny-3.1", vocab_size=128, d_model=64, num_heads=4, num_kv_heads=2, mlp_dim=96)


def _loss(params, tokens, positions, mask):
  logits = llama.forward(params, tokens, positions, mask, CONFIG)
  logp = jax.nn.log_softmax(logits[:, :-1])
  target = jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]
  w = mask[:, 1:].astype(jnp.float32)
  return -(target * w).sum() / w.sum(), logits


def _inputs():
  rng = np.random.default_rng(0)
  tokens = rng.integers(0, CONFIG.vocab_size, (8, 16)).astype(np.int32)
  mask = np.ones((8, 16), bool)
  mask[3, 10:] = False
  mask[5, 4:] = False
  positions = np.broadcast_to(np.arange(16, dtype=np.int32), (8, 16))
  return tokens, positions, mask


@pytest.fixture(scope="module")
def reference():
  params = init_params(CONFIG, jax.random.key(0))
  cpu0 = jax.devices()[0]
  params = jax.device_put(params, cpu0)
  (loss, logits), grads = jax.jit(jax.value_and_grad(_loss, has_aux=True))(params, *_inputs())
  return params, np.asarray(logits), jax.tree.map(np.asarray, grads)


@pytest.mark.parametrize("shape", [(8, 1, 1), (1, 8, 1), (1, 4, 2), (2, 2, 2)])
def test_sharded_logits_and_grads_equal_single_device(reference, shape):
  assert jax.device_count() == 8
  params, ref_logits, ref_grads = reference
  mesh = make_mesh(shape)
  shardings = param_shardings(CONFIG, mesh)
  batch = NamedSharding(mesh, logical_to_spec(("batch", "seq"), (8, 16), mesh))
  fn = jax.jit(jax.value_and_grad(_loss, has_aux=True),
               in_shardings=(shardings, batch, batch, batch),
               out_shardings=((NamedSharding(mesh, P()), batch), shardings))
  with jax.set_mesh(mesh):
    (loss, logits), grads = fn(shard_params(params, CONFIG, mesh), *_inputs())
  np.testing.assert_allclose(np.asarray(logits), ref_logits, atol=1e-5, rtol=0)
  jax.tree.map(lambda g, r: np.testing.assert_allclose(np.asarray(g), r, atol=1e-5, rtol=0),
               grads, ref_grads)
  # Every placed parameter carries exactly the sharding the rule table gives (specs checked
  # literally in test_rule_table_specs).
  placed = shard_params(params, CONFIG, mesh)
  for (path, x), s in zip(jax.tree_util.tree_flatten_with_path(placed)[0], jax.tree.leaves(shardings)):
    assert x.sharding.is_equivalent_to(s, x.ndim), jax.tree_util.keystr(path)


def test_rule_table_specs():
  mesh = make_mesh((1, 4, 2))
  shardings = param_shardings(CONFIG, mesh)
  assert shardings["layers"]["attn"]["q_proj"].spec == P(None, "fsdp", "tensor", None)
  assert shardings["layers"]["attn"]["k_proj"].spec == P(None, "fsdp", "tensor", None)
  assert shardings["layers"]["attn"]["o_proj"].spec == P(None, "tensor", None, "fsdp")
  assert shardings["layers"]["mlp"]["down_proj"].spec == P(None, "tensor", "fsdp")
  assert shardings["embed"]["embedding"].spec == P("tensor", "fsdp")
  assert shardings["lm_head"]["kernel"].spec == P("fsdp", "tensor")
  assert shardings["final_norm"]["scale"].spec == P(None)
  # A dimension the mesh does not divide is replicated: 2 KV heads on a 4-way tensor axis.
  mesh = make_mesh((1, 2, 4))
  assert param_shardings(CONFIG, mesh)["layers"]["attn"]["k_proj"].spec == P(None, "fsdp", None, None)
  assert param_shardings(CONFIG, mesh)["layers"]["attn"]["q_proj"].spec == P(None, "fsdp", "tensor",
                                                                            None)


def test_mesh_shape_errors():
  assert resolve_mesh_shape((2, -1, 1), 8) == (2, 4, 1)
  with pytest.raises(ValueError, match="does not divide the 8 devices"):
    resolve_mesh_shape((3, -1, 1), 8)
  with pytest.raises(ValueError, match=r"does not match the 8 available devices"):
    make_mesh((2, 2, 1))
  with pytest.raises(ValueError, match="at most one axis may be -1"):
    make_mesh((-1, -1, 1))
  with pytest.raises(ValueError, match="must have 3 entries"):
    make_mesh((8,))
