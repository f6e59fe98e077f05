"""AOT check: pure-Python parts always; a tiny-model compile for v5p:2x2x1 when libtpu is there."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import ml_collections
import pytest

from configs import tiny_cpu
from selfchallenge_jax.aot import chips, report, roofline
from selfchallenge_jax.aot.check import HEADROOM, CheckResult, ProgramReport, run_check
from selfchallenge_jax.aot.tpu_config import make_plan
from selfchallenge_jax.model.config import get_config
from selfchallenge_jax.pipeline.init_source import parse_init, training_overrides
from selfchallenge_jax.pipeline.phases import phase_fn

ROOT = Path(__file__).resolve().parents[2]
TPU_CONFIGS = sorted(ROOT.glob("configs/llama31_*.py"))
HAS_LIBTPU = importlib.util.find_spec("libtpu") is not None


def tiny_tpu_config(topology="v5p:2x2x1", accelerator="v5p-8", mesh=(1, -1, 1)):
  c = tiny_cpu.get_config()
  c.mesh = mesh
  c.model = ml_collections.ConfigDict(dict(preset="tiny"))
  c.sampling.update(cache_len=128, num_slots=8, chunk_steps=4)
  c.rl.update(tasks_per_batch=2, group_size=4, kl_beta=0.04)
  c.bootstrap.update(max_len=128, batch_tokens=1024)
  c.tpu = ml_collections.ConfigDict(dict(
      topology=topology, accelerator_type=accelerator, zone="us-east5-a", name="t",
      runtime_version="v2-alpha-tpuv5", workdir="gs://bucket/run"))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=32))
  return c


def load(path):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


# ---- topology names and chips ----------------------------------------------------------------
@pytest.mark.parametrize("name, chips_, accelerator, hosts", [
    ("v5p:2x2x1", 4, "v5p-8", 1), ("v5p:2x4x4", 32, "v5p-64", 8), ("v5p:4x4x8", 128, "v5p-256", 32),
    ("v4:4x4x4", 64, "v4-128", 16), ("v5e:2x4", 8, "v5litepod-8", 1),
    ("v5e:16x16", 256, "v5litepod-256", 64), ("v6e:16x16", 256, "v6e-256", 64),
])
def test_topology_chip_counts_and_accelerator_types(name, chips_, accelerator, hosts):
  t = chips.parse_topology(name)
  assert (t.num_chips, t.accelerator_type, t.num_hosts) == (chips_, accelerator, hosts)


@pytest.mark.parametrize("name", ["v5p-64", "v7:2x2", "v5p:4x4", "v5e:16x16x1", "v4:4xax4"])
def test_bad_topology_names_are_clear_errors(name):
  with pytest.raises(ValueError, match="topology"):
    chips.parse_topology(name)


def test_published_hbm_sizes():
  assert {k: c.hbm_bytes // chips.GIB for k, c in chips.CHIPS.items()} == {
      "v4": 32, "v5e": 16, "v5p": 95, "v6e": 32}


# ---- roofline arithmetic ---------------------------------------------------------------------
def test_roofline_picks_the_slower_of_compute_and_memory():
  v5p = chips.CHIPS["v5p"]
  r = roofline.roofline(459e12, 2765e9 / 2, v5p)
  assert (r.compute_s, r.memory_s, r.bound, r.seconds) == pytest.approx((1.0, 0.5, "compute", 1.0))
  r = roofline.roofline(0.0, 2765e9, v5p)
  assert r.bound == "memory" and r.seconds == pytest.approx(1.0)
  with pytest.raises(ValueError):
    roofline.roofline(-1.0, 0.0, v5p)


def test_layer_extrapolation_is_linear():
  assert roofline.extrapolate_layers(10.0, 13.0, 1) == 10.0
  assert roofline.extrapolate_layers(10.0, 13.0, 32) == 10.0 + 31 * 3.0
  with pytest.raises(ValueError):
    roofline.extrapolate_layers(1.0, 2.0, 0)


def test_expected_flops_formulas():
  m = get_config("llama3.1-8b")
  P, L, H, Dh = m.matmul_params(), m.num_layers, m.num_heads, m.resolved_head_dim
  B, T, S = 4, 1024, 4096
  assert roofline.update_flops_6pt(m, B, T) == pytest.approx(B * T * (6 * P + 12 * L * H * Dh * T))
  assert roofline.forward_flops_2pt(m, B, T) == pytest.approx(B * T * (2 * P + 4 * L * H * Dh * T))
  head = 2 * m.d_model * m.vocab_size
  want = B * T * (2 * P - head + 4 * L * H * Dh * S) + B * head
  assert roofline.prefill_flops_2pt(m, B, T, S) == pytest.approx(want)
  # the LM head on W sampled positions per row only (batches with logit_positions)
  W = 256
  assert roofline.update_flops_6pt(m, B, T, W) == pytest.approx(
      roofline.update_flops_6pt(m, B, T) - B * 3 * head * (T - W))
  assert roofline.forward_flops_2pt(m, B, T, head_positions=W) == pytest.approx(
      roofline.forward_flops_2pt(m, B, T) - B * head * (T - W))


# ---- config validation -----------------------------------------------------------------------
def test_mesh_that_does_not_match_the_topology_is_a_clear_error():
  with pytest.raises(ValueError, match=r"config.mesh \(1, 8, 1\) does not fit topology "
                                       r"v5p:2x2x1 \(4 devices\)"):
    make_plan(tiny_tpu_config(mesh=(1, 8, 1)))


@pytest.mark.parametrize("change, match", [
    (lambda c: c.tpu.update(accelerator_type="v5p-4"), "does not match topology"),
    (lambda c: c.tpu.update(workdir="/tmp/run"), "gs://"),
    (lambda c: c.rl.update(tasks_per_batch=1, group_size=2), "not a multiple of its batch-par"),
    (lambda c: c.sampling.update(num_slots=6), "not a multiple of its batch-parallel devices"),
    # v5p:2x4x4 has 8 hosts of 4 chips: a host samples on its own chips.
    (lambda c: c.update(mesh=(1, 4, 8)) or c.tpu.update(topology="v5p:2x4x4",
                                                         accelerator_type="v5p-64"),
     r"the tensor axis \(8\) must divide a host's 4 chips"),
    (lambda c: c.aot.update(prefill_len=4096), "prefill_len"),
    (lambda c: c.tpu.update(zone=""), "missing"),
])
def test_inconsistent_configs_are_rejected(change, match):
  c = tiny_tpu_config()
  change(c)
  with pytest.raises(ValueError, match=match):
    make_plan(c)


def test_tpu_configs_are_valid_launch_configs():
  assert len(TPU_CONFIGS) == 4, TPU_CONFIGS
  chips_seen = set()
  for path in TPU_CONFIGS:
    config = load(path)
    plan = make_plan(config)
    chips_seen.add(plan.topology.chip.name)
    assert plan.model.compute_dtype == "bfloat16"
    assert plan.head_positions == min(config.sampling.max_episode_tokens, plan.seq_len - 1)
    assert set(config.keys()) >= set(tiny_cpu.get_config().keys())
    # A pod run starts from the pretrained instruct model of its preset, imported from GCS.
    source = parse_init(config.init)
    assert source.kind == "hf" and source.path.startswith("gs://") and config.model.preset in \
        source.path.lower().replace("llama-", "llama").replace("-instruct", "")
    assert training_overrides(dict(config.model), source)     # only training fields besides it
    for name in config.phases.split(","):
      phase_fn(name)
    assert path.read_text().splitlines()[2].strip().startswith("bash launch/tpu/create.sh")
  assert chips_seen == {"v4", "v5e", "v5p"}


@pytest.mark.parametrize("path", TPU_CONFIGS, ids=lambda p: p.stem)
def test_aot_sft_step_is_the_largest_batch_the_bootstrap_forms(path):
  """AOT's SFT batch is the one with the most tokens of those DemoBatches forms for the config's
  mesh (one demo per length bucket): rows rounded up to data x fsdp make a bucket just under
  max_len larger than max_len's own batch (v5p-64: 48 x 7936 tokens, not 32 x 8192)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from selfchallenge_jax.pipeline.demo_batches import DemoBatches  # pylint: disable=import-outside-toplevel
  config = load(path)
  plan = make_plan(config)
  boot = config.bootstrap
  lengths = sorted(set(range(boot.length_multiple, boot.max_len + 1, boot.length_multiple))
                   | {boot.max_len})
  batches = DemoBatches([(np.ones(n, np.int32), np.ones(n, np.float32)) for n in lengths],
                        batch_tokens=boot.batch_tokens, length_multiple=boot.length_multiple,
                        max_len=boot.max_len, rng=np.random.default_rng(0),
                        row_multiple=plan.batch_parallel)
  length, rows = max(batches.rows.items(), key=lambda item: (item[0] * item[1], item[0]))
  assert (plan.sft_rows, plan.sft_len) == (rows, length)
  if path.stem == "llama31_8b_v5p64":
    assert (plan.sft_rows, plan.sft_len) == (48, 7936)


# ---- report ------------------------------------------------------------------------------------
def _program(name, total_gib, ratio):
  b = int(total_gib * 2**30)
  return dict(name=name, work=f"{name} work", argument_bytes=b // 2, output_bytes=0,
              alias_bytes=0, temp_bytes=b - b // 2, code_bytes=0, resident_bytes=0,
              resident_what="nothing", total_bytes=b, headroom=1 - total_gib / 16,
              flops_per_chip=2e12, bytes_per_chip=3e9, flops_ratio=ratio, roofline_s=0.0123,
              roofline_bound="compute")


def test_report_text_and_markdown():
  r = dict(config_name="cfg", topology="v5e:16x16", accelerator_type="v5litepod-256",
           num_chips=256, hbm_bytes=16 * 2**30, mesh=dict(data=1, fsdp=32, tensor=8),
           model=get_config("tiny").to_dict(), algorithm="grpo", kl_beta=0.04, update_batch=64,
           seq_len=4096, num_slots=128, cache_len=4096, prefill_len=1024,
           programs=[_program("update", 15.0, 1.2), _program("decode", 3.0, 1.0)],
           reshard_bytes=2**31, reshard_headroom=0.875,
           failures=["memory: update needs 15.00 GiB per chip > 14.40 GiB"])
  text = report.format_report(r)
  assert "v5e:16x16 (v5litepod-256, 256 chips, 16 GiB HBM each)" in text
  assert "1x32x8" in text and "12.30 ms" in text and "bars NOT met" in text
  assert "memory: update needs" in text
  md = report.markdown_table([r]).splitlines()
  assert len(md) == 2 + 3 and md[2].startswith("| cfg | v5e:16x16 | 1x32x8 | update |")
  assert "| 15.00 / 16 | 6% | 2.000 | 1.200 |" in md[2]
  assert report.format_report({**r, "failures": []}).endswith("bars: all met")
  oom = report.markdown_table([{**r, "compile_errors": {"prefill": "RESOURCE_EXHAUSTED: HBM"}}])
  assert "| prefill | did not compile: RESOURCE_EXHAUSTED: HBM |" in oom


def test_report_seconds_units():
  assert [report.seconds(s) for s in (2.5, 0.0123, 4.2e-6)] == ["2.50 s", "12.30 ms", "4.2 us"]


# ---- the CLI without libtpu ------------------------------------------------------------------
def test_cli_rejects_a_bad_mesh_before_needing_libtpu():
  proc = subprocess.run(
      [sys.executable, "-m", "launch.aot_check", f"--config={TPU_CONFIGS[0]}",
       "--config.mesh=(1,7,1)"], cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert proc.returncode != 0
  assert "invalid TPU config" in proc.stderr and "does not fit topology" in proc.stderr


# ---- compile for a TPU topology (needs libtpu) ----------------------------------------------
def _check_result(result, num_chips):
  d = result.to_json()
  assert [p["name"] for p in d["programs"]] == ["sft_step", "update", "ref_logprobs", "prefill",
                                                "decode"]
  for p in d["programs"]:
    assert p["argument_bytes"] > 0 and p["temp_bytes"] >= 0 and p["flops_per_chip"] > 0
    # the loop-aware FLOPs exceed what cost analysis reports for the looped (scanned-layer)
    # training programs; the sampler's run their layers unrolled: no loop, the same count
    if p["name"] in ("prefill", "decode"):
      assert p["flops_per_chip"] == pytest.approx(p["reported_flops_per_chip"], rel=1e-6)
    else:
      assert p["flops_per_chip"] > p["reported_flops_per_chip"]
  assert d["num_chips"] == num_chips and d["failures"] == []
  assert 0.85 < d["programs"][0]["flops_ratio"] < 1.15
  assert d["programs"][0]["headroom"] > HEADROOM
  json.dumps(d)
  return d


@pytest.mark.skipif(not HAS_LIBTPU, reason="libtpu not installed: pip install -e .[tpu]")
def test_aot_compiles_tiny_for_v5p_2x2x1(monkeypatch):
  from jax.experimental import topologies  # pylint: disable=import-outside-toplevel
  # Compiling only: another libtpu process (e.g. a running aot_check) must not block the test.
  monkeypatch.setenv("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
  devices = topologies.get_topology_desc(platform="tpu", topology_name="v5p:2x2x1").devices
  d = _check_result(run_check(tiny_tpu_config(), devices, "tiny", log=lambda _: None), 4)
  assert d["hbm_bytes"] == 95 * 2**30
  assert "bars: all met" in report.format_report(d)


@pytest.mark.skipif(not HAS_LIBTPU, reason="libtpu not installed: pip install -e .[tpu]")
@pytest.mark.parametrize("topology, mesh", [("v5p:2x4x4", (1, 16, 2)), ("v4:4x4x4", (1, 16, 4)),
                                            ("v5e:16x16", (1, 64, 4)), ("v5p:4x4x8", (1, 32, 4))])
def test_every_host_of_a_pod_mesh_owns_a_block(monkeypatch, topology, mesh):
  """The run's mesh (sharding.make_mesh) on a slice's devices: each host's chips are one block
  spanning the tensor axis, where it samples (jax.make_mesh's physical order interleaves hosts:
  host_block refused v5p-64 at (1, 16, 2))."""
  from jax.experimental import topologies  # pylint: disable=import-outside-toplevel
  from selfchallenge_jax.distributed.hosts import host_block  # pylint: disable=import-outside-toplevel
  from selfchallenge_jax.sharding.mesh import make_mesh  # pylint: disable=import-outside-toplevel
  monkeypatch.setenv("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
  t = chips.parse_topology(topology)
  extra = {"chip_config_name": t.chip.aot_chip_config} if t.chip.aot_chip_config else {}
  devices = topologies.get_topology_desc(platform="tpu", topology_name=topology, **extra).devices
  run_mesh = make_mesh(mesh, devices)
  for p in range(t.num_hosts):
    block = host_block(run_mesh, p)
    assert block.devices.size == 4 and {d.process_index for d in block.devices.flat} == {p}


# ---- the bars ----------------------------------------------------------------------------------
def _result(total_gib, ratio, errors=None):
  m = get_config("tiny")
  expected = roofline.update_flops_6pt(m, 8, 128)
  update = ProgramReport(
      name="update", work="w", argument_bytes=int(total_gib * 2**30), output_bytes=0,
      alias_bytes=0, temp_bytes=0, code_bytes=0, resident_bytes=0, resident_what="",
      flops_per_chip=ratio * expected / 4, bytes_per_chip=1e9, reported_flops_per_chip=1.0,
      expected_flops=expected, compile_s=0.0)
  v5p = chips.CHIPS["v5p"]
  return CheckResult(
      config_name="c", topology="v5p:2x2x1", accelerator_type="v5p-8", chip="v5p", num_chips=4,
      hbm_bytes=v5p.hbm_bytes, peak_bf16_flops=v5p.peak_bf16_flops,
      hbm_bandwidth=v5p.hbm_bandwidth, mesh=dict(data=1, fsdp=4, tensor=1), model=m.to_dict(),
      update_batch=8, seq_len=128, num_slots=8, cache_len=128, prefill_len=32, programs=[update],
      reshard_bytes=0, algorithm="grpo", kl_beta=0.0, compile_errors=errors or {})


def test_bars_memory_headroom_and_flops_ratio():
  assert _result(85.0, 1.10).failures() == []             # 85 GiB < 0.9 x 95 GiB; ratio 1.10
  (memory,) = _result(86.0, 1.0).failures()
  assert memory.startswith("memory: update needs 86.00 GiB per chip > 85.50 GiB (90% of 95 GiB)")
  (flops,) = _result(10.0, 1.2).failures()
  assert flops.startswith("flops: update compiles to 1.200 x")
  d = _result(10.0, 1.0, {"decode": "RESOURCE_EXHAUSTED: x"}).to_json()
  assert d["failures"] == ["compile: decode did not compile: RESOURCE_EXHAUSTED: x"]
  assert d["programs"][0]["roofline_bound"] == "memory"
  assert d["programs"][0]["roofline_s"] == pytest.approx(1e9 / chips.CHIPS["v5p"].hbm_bandwidth)
