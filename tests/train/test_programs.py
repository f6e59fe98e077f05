"""The programs layer: AOT compiles the very programs a run builds; owners release their programs;
params and optimizer state are created in their shardings."""

import gc
import weakref

import jax
import numpy as np
import pytest

from chat_fixtures import make_chat
from configs import tiny_cpu
from selfchallenge_jax.aot.programs import RunPrograms
from selfchallenge_jax.aot.tpu_config import make_plan
from selfchallenge_jax.checkpoint.export import load_params, load_params_on_host
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.model.partitioning import param_shardings
from selfchallenge_jax.train import programs as training_programs
from selfchallenge_jax.train.programs import TrainSpec
from selfchallenge_jax.rl.algorithms import algorithm_from_config
from selfchallenge_jax.rl.optimizer import optimizer_from_config, sft_optimizer_from_config
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.sharding import make_mesh
from selfchallenge_jax.train.update_step import UpdatePrograms

pytestmark = pytest.mark.skipif(jax.device_count() < 8, reason="needs 8 (simulated) devices")


def _run_config():
  import ml_collections
  c = tiny_cpu.get_config()
  c.mesh = (1, -1, 1)
  c.model = ml_collections.ConfigDict(dict(preset="tiny", vocab_size=512, max_seq_len=256))
  c.sampling.update(cache_len=128, num_slots=8, chunk_steps=4)
  c.rl.update(tasks_per_batch=2, group_size=4)
  c.bootstrap.update(max_len=128, batch_tokens=1024)
  c.tpu = ml_collections.ConfigDict(dict(
      topology="v5p:2x2x2", accelerator_type="v5p-16", zone="z", name="t",
      runtime_version="v", workdir="gs://bucket/run"))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=32))
  return c


def test_aot_compiles_the_programs_the_engine_and_trainer_build(tmp_path):
  """Same definitions, same specs: the lowered text of AOT's prefill / decode / update / SFT step
  equals that of the programs a rollout engine, a trainer and the bootstrap build at those shapes
  (tiny config, 8-device CPU mesh)."""
  config = _run_config()
  plan = make_plan(config)
  mesh = make_mesh((1, 8, 1))
  aot = RunPrograms(config, plan, plan.model, mesh)
  _, chat = make_chat(tmp_path)
  params = init_params(plan.model, jax.random.key(0))
  engine = RolloutEngine(Sampler(params, plan.model, cache_len=plan.cache_len, mesh=mesh), chat,
                         num_slots=plan.num_slots, chunk_steps=plan.chunk_steps)
  try:
    prefill = aot.prefill()
    ours = engine.extend_program(plan.num_slots, plan.prefill_len, plan.cache_len)
    assert ours.lower(*prefill.args).as_text() == prefill.lower().as_text()
    decode = aot.decode()
    ours = engine.sampler.decode_program(plan.num_slots, plan.chunk_steps)
    assert ours.lower(*decode.args).as_text() == decode.lower().as_text()
  finally:
    engine.close()
  update = aot.update()
  trainer_side = UpdatePrograms(plan.model, optimizer_from_config(config.rl)[0],
                                algorithm_from_config(config.rl), mesh)
  batch = update.args[1]
  assert trainer_side.update_program(batch).lower(*update.args).as_text() == \
      update.lower().as_text()
  # The bootstrap's SFT step: its optimizer from the same config, the same definition.
  sft = aot.sft_step()
  boot_spec = TrainSpec(plan.model, sft_optimizer_from_config(config.bootstrap)[0], mesh)
  assert training_programs.sft_step(boot_spec, sft.args[1:]).lower(*sft.args).as_text() == \
      sft.lower().as_text()


def test_a_closed_sampler_and_engine_are_released(tmp_path):
  """Programs live in the owner's table: nothing keeps a dropped sampler (and its params) alive."""
  _, chat = make_chat(tmp_path)
  config = get_config("tiny", vocab_size=512, max_seq_len=128)
  sampler = Sampler(init_params(config, jax.random.key(0)), config, cache_len=64)
  sampler.generate([[1, 5, 9]], n=2, max_new_tokens=4, seed=0)
  engine = RolloutEngine(sampler, chat, num_slots=2)
  engine.init_program()()
  assert len(sampler.programs) == 2 and dict(sampler.mesh.shape) == dict(data=1, fsdp=1, tensor=1)
  refs = [weakref.ref(sampler), weakref.ref(engine)]
  engine.close()
  del sampler, engine
  gc.collect()
  assert [r() for r in refs] == [None, None]


def test_params_restore_into_shardings_and_state_is_created_sharded(tmp_path):
  config = get_config("tiny", vocab_size=512, max_seq_len=128)
  params = init_params(config, jax.random.key(1))
  with Checkpointer(tmp_path / "ckpt", max_to_keep=1) as ckpt:
    ckpt.save_params(0, params, {"model_config": config.to_dict()})
  mesh = make_mesh((2, 4, 1))
  _, sharded, _ = load_params(tmp_path / "ckpt", mesh)
  want = param_shardings(config, mesh)
  for x, s in zip(jax.tree.leaves(sharded), jax.tree.leaves(want)):
    assert x.sharding == s
  _, host, _ = load_params_on_host(tmp_path / "ckpt")
  jax.tree.map(np.testing.assert_array_equal, jax.device_get(sharded), jax.device_get(host))

  optimizer, _ = optimizer_from_config(tiny_cpu.get_config().rl)
  spec = TrainSpec(config, optimizer, mesh)
  state = training_programs.create_state(spec)(sharded, jax.random.key(0))
  got = jax.tree.map(lambda x: x.sharding, state)
  assert jax.tree.leaves(got) == jax.tree.leaves(spec.state_shardings)
  # The Adam moments are split as their params are: no device holds a whole moment of a weight.
  moments = [x for x in jax.tree.leaves(state.opt_state) if x.ndim >= 3]   # stacked weights
  assert moments and all(x.addressable_shards[0].data.size < x.size for x in moments)


def _per_device_bytes(arrays) -> dict:
  out: dict = {}
  for x in arrays:
    for shard in x.addressable_shards:
      out[shard.device] = out.get(shard.device, 0) + shard.data.nbytes
  return out


def test_no_device_holds_more_than_its_share_of_params_and_moments(tmp_path):
  """Restored into an 8-way fsdp mesh and given its optimizer state: every device holds ~1/8 of
  params + Adam moments (the replicated norm scales are the margin), never a whole copy."""
  config = get_config("tiny", vocab_size=1024, d_model=128, mlp_dim=512, num_layers=4,
                      max_seq_len=128)
  with Checkpointer(tmp_path / "ckpt", max_to_keep=1) as ckpt:
    ckpt.save_params(0, init_params(config, jax.random.key(2)), {"model_config": config.to_dict()})
  gc.collect()
  mesh = make_mesh((1, 8, 1))
  _, params, _ = load_params(tmp_path / "ckpt", mesh)
  total = sum(x.nbytes for x in jax.tree.leaves(params))
  assert max(_per_device_bytes(jax.tree.leaves(params)).values()) <= 1.1 * total / 8
  optimizer, _ = optimizer_from_config(tiny_cpu.get_config().rl)
  state = training_programs.create_state(TrainSpec(config, optimizer, mesh))(params,
                                                                             jax.random.key(0))
  held = _per_device_bytes(jax.tree.leaves(state))
  assert len(held) == 8
  share = 3 * total / 8                      # params + mu + nu, split 8 ways
  assert max(held.values()) <= 1.1 * share, (max(held.values()), share)


def test_aot_check_runs_every_program_on_a_cpu_mesh(monkeypatch):
  """The AOT check end to end (compile, memory, loop-aware FLOPs from 1- and 2-layer probes) on the
  8 CPU devices: its code path is otherwise exercised only where libtpu is installed."""
  from selfchallenge_jax.aot import check
  monkeypatch.setattr(check, "PROBE_COMPILER_OPTIONS", {})     # TPU-only options
  d = check.run_check(_run_config(), jax.devices()[:8], "tiny-cpu", log=lambda _: None).to_json()
  assert [p["name"] for p in d["programs"]] == ["sft_step", "update", "prefill", "decode"]
  for p in d["programs"]:
    assert 0.85 < p["flops_ratio"] < 1.2, p


def test_aot_check_compiles_no_sft_step_when_the_bootstrap_has_none(monkeypatch):
  """bootstrap.steps = copy_steps = 0 (a pretrained start kept as loaded): the run builds no SFT
  step, so the check compiles none (the SFT optimizer refuses a schedule of 0 steps)."""
  from selfchallenge_jax.aot import check
  monkeypatch.setattr(check, "PROBE_COMPILER_OPTIONS", {})     # TPU-only options
  config = _run_config()
  config.bootstrap.update(steps=0, copy_steps=0)
  d = check.run_check(config, jax.devices()[:8], "tiny-cpu", log=lambda _: None).to_json()
  assert [p["name"] for p in d["programs"]] == ["update", "prefill", "decode"]
  assert d["failures"] == []
