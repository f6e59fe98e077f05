"""Orbax train-state checkpoints: save under one mesh, restore under another; keep-N; bad dirs."""

import jax
import numpy as np
import optax
import pytest

from selfchallenge_jax.checkpoint.manager import CheckpointError, Checkpointer
from selfchallenge_jax.checkpoint.train_state import TrainState, abstract_state, state_shardings
from selfchallenge_jax.model import abstract_params, get_config, init_params
from selfchallenge_jax.model.partitioning import param_shardings, shard_params
from selfchallenge_jax.sharding import make_mesh

CONFIG = get_config("tiny", vocab_size=128)


def _state(mesh):
  params = shard_params(init_params(CONFIG, jax.random.key(1)), CONFIG, mesh)
  optimizer = optax.adamw(1e-3)
  state = TrainState.create(params, optimizer, jax.random.key(7), step=5)
  # One real update so the optimizer moments are non-trivial.
  grads = jax.tree.map(lambda p: 0.1 * p, params)
  updates, opt_state = optimizer.update(grads, state.opt_state, params)
  return state.replace(params=optax.apply_updates(params, updates), opt_state=opt_state), optimizer


def _target(state, optimizer, mesh):
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  shardings = state_shardings(optimizer, param_shardings(CONFIG, mesh), abstract_params(CONFIG),
                              replicated)
  return abstract_state(optimizer, abstract_params(CONFIG), shardings)


def test_save_under_one_mesh_restore_under_another(tmp_path):
  mesh_a, mesh_b = make_mesh((1, 8, 1)), make_mesh((2, 2, 2))
  state, optimizer = _state(mesh_a)
  with Checkpointer(tmp_path / "ckpt", max_to_keep=2) as ckpt:
    for step in (1, 2, 3):
      ckpt.save(step, state.replace(step=np.int32(step)), {"model_config": CONFIG.to_dict(), "step": step},
                data_state={"position": step * 10})
    ckpt.wait()
    assert ckpt.all_steps() == [2, 3]          # keep-N
  target = _target(state, optimizer, mesh_b)
  restored, metadata, data = Checkpointer(tmp_path / "ckpt", create=False).restore(target)
  assert metadata == {"model_config": CONFIG.to_dict(), "step": 3} and data == {"position": 30}
  assert int(restored.step) == 3
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
               restored.params, state.params)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)),
               restored.opt_state, state.opt_state)
  np.testing.assert_array_equal(np.asarray(restored.rng), np.asarray(state.rng))
  q = restored.params["layers"]["attn"]["q_proj"]
  assert q.sharding.mesh.shape == mesh_b.shape
  assert q.sharding.spec == param_shardings(CONFIG, mesh_b)["layers"]["attn"]["q_proj"].spec


def test_missing_and_incomplete_checkpoints(tmp_path):
  with pytest.raises(CheckpointError, match="does not exist"):
    Checkpointer(tmp_path / "nowhere", create=False)
  mesh = make_mesh((1, 8, 1))
  state, optimizer = _state(mesh)
  target = _target(state, optimizer, mesh)
  (tmp_path / "empty").mkdir()
  with pytest.raises(CheckpointError, match="no complete checkpoint"):
    Checkpointer(tmp_path / "empty", create=False).restore(target)
  with Checkpointer(tmp_path / "ckpt") as ckpt:
    ckpt.save(4, state, {"model_config": CONFIG.to_dict()})
  import shutil
  shutil.rmtree(tmp_path / "ckpt" / "4" / "train")
  with pytest.raises(CheckpointError, match=r"incomplete: missing item\(s\) \[.train.\]"):
    Checkpointer(tmp_path / "ckpt", create=False).restore(target)
