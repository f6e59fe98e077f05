"""Compiles a TPU config's programs for its topology and measures them against the bars.

Per program: per-chip memory from the compiled program (arguments, outputs, aliased donations,
temporaries, code) plus the buffers the trainer keeps alive beside it (train state, the sampler's
params copy, reference params), and per-chip FLOPs / HBM bytes from cost analysis, extrapolated
over layers with unrolled 1- and 2-layer probes compiled without windowed einsums (roofline.py and
PROBE_COMPILER_OPTIONS say why). Bars: every phase fits in (1 - HEADROOM) of the chip's HBM; the
update's FLOPs are within FLOPS_TOLERANCE of 6 x matmul params x tokens + attention.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

import jax
import ml_collections
from jax.sharding import Mesh

from selfchallenge_jax.aot import roofline as rl
from selfchallenge_jax.aot.chips import CHIPS
from selfchallenge_jax.aot.programs import RunPrograms, per_chip_bytes
from selfchallenge_jax.aot.tpu_config import AotPlan, make_plan
from selfchallenge_jax.distributed.hosts import host_block
from selfchallenge_jax.sharding.mesh import make_mesh

HEADROOM = 0.10
FLOPS_TOLERANCE = 0.15

# The FLOP/byte probes compile without XLA:TPU's windowed einsums. With them, an FSDP all-gather +
# matmul becomes a loop over weight chunks (`windowed_dot_general` while loops, one iteration per
# fsdp shard) and cost analysis counts each loop body once: the 8B update on v5p-64 read 0.71 of
# its FLOPs that way. The same matmuls without the loop are counted whole; memory is still
# measured on the program as the run compiles it (default options).
PROBE_COMPILER_OPTIONS = {"xla_tpu_enable_windowed_einsum_for_all_gather": False,
                          "xla_tpu_enable_windowed_einsum_for_reduce_scatter": False}


@dataclasses.dataclass
class ProgramReport:
  name: str
  work: str                          # what one call computes
  argument_bytes: int                # per chip, as compiled
  output_bytes: int
  alias_bytes: int                   # outputs written into donated arguments
  temp_bytes: int
  code_bytes: int
  resident_bytes: int                # other buffers alive in HBM meanwhile (not arguments)
  resident_what: str
  flops_per_chip: float              # layer-extrapolated (all L layers counted)
  bytes_per_chip: float              # layer-extrapolated HBM bytes accessed
  reported_flops_per_chip: float     # cost analysis of the full program (loop bodies once)
  expected_flops: float              # analytic, over the chips the program runs on
  compile_s: float
  chips: int = 0                     # the chips it runs on (a host's, for sampling); 0 = slice

  @property
  def program_bytes(self) -> int:
    return (self.argument_bytes + self.output_bytes - self.alias_bytes + self.temp_bytes
            + self.code_bytes)

  @property
  def total_bytes(self) -> int:
    return self.program_bytes + self.resident_bytes


@dataclasses.dataclass
class CheckResult:
  config_name: str
  topology: str
  accelerator_type: str
  chip: str
  num_chips: int
  hbm_bytes: int
  peak_bf16_flops: float
  hbm_bandwidth: float
  mesh: dict[str, int]
  model: dict[str, Any]
  update_batch: int
  seq_len: int
  num_slots: int
  cache_len: int
  prefill_len: int
  programs: list[ProgramReport]
  reshard_bytes: int                 # train state + ref + two sampler copies (update_params)
  algorithm: str
  kl_beta: float
  compile_errors: dict[str, str] = dataclasses.field(default_factory=dict)  # e.g. HBM OOM

  def program(self, name: str) -> ProgramReport:
    return next(p for p in self.programs if p.name == name)

  def flops_ratio(self, name: str) -> float:
    p = self.program(name)
    return p.flops_per_chip * (p.chips or self.num_chips) / p.expected_flops

  def roofline(self, name: str) -> rl.Roofline:
    p = self.program(name)
    return rl.roofline(p.flops_per_chip, p.bytes_per_chip, CHIPS[self.chip])

  def failures(self) -> list[str]:
    """Unmet bars, each saying which and by how much (empty: all met)."""
    limit = (1 - HEADROOM) * self.hbm_bytes
    out = []
    phases = [(p.name, p.total_bytes) for p in self.programs] + [("reshard", self.reshard_bytes)]
    for name, used in phases:
      if used > limit:
        out.append(f"memory: {name} needs {used / 2**30:.2f} GiB per chip > {limit / 2**30:.2f} "
                   f"GiB ({1 - HEADROOM:.0%} of {self.hbm_bytes / 2**30:.0f} GiB)")
    out += [f"compile: {name} did not compile: {error}"
            for name, error in self.compile_errors.items()]
    ratio = None if "update" in self.compile_errors else self.flops_ratio("update")
    if ratio is not None and abs(ratio - 1) > FLOPS_TOLERANCE:
      out.append(f"flops: update compiles to {ratio:.3f} x (6 x P x T + attention), outside "
                 f"1 +- {FLOPS_TOLERANCE}")
    return out

  def to_json(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    for p, pd in zip(self.programs, d["programs"]):
      roof = self.roofline(p.name)
      pd.update(program_bytes=p.program_bytes, total_bytes=p.total_bytes,
                headroom=1 - p.total_bytes / self.hbm_bytes,
                flops_ratio=self.flops_ratio(p.name), roofline_s=roof.seconds,
                roofline_compute_s=roof.compute_s, roofline_memory_s=roof.memory_s,
                roofline_bound=roof.bound)
    d["reshard_headroom"] = 1 - self.reshard_bytes / self.hbm_bytes
    d["failures"] = self.failures()
    return d


def _memory(compiled) -> dict[str, int]:
  m = compiled.memory_analysis()
  return dict(argument_bytes=m.argument_size_in_bytes, output_bytes=m.output_size_in_bytes,
              alias_bytes=m.alias_size_in_bytes, temp_bytes=m.temp_size_in_bytes,
              code_bytes=m.generated_code_size_in_bytes)


def _cost(compiled) -> dict[str, float]:
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return dict(flops=float(cost.get("flops", 0.0)), bytes=float(cost.get("bytes accessed", 0.0)))


def make_aot_mesh(plan: AotPlan, devices: Sequence[Any]) -> Mesh:
  """The run's mesh (sharding.make_mesh: hosts' devices in process-major blocks)."""
  if len(devices) != plan.topology.num_chips:
    raise ValueError(f"topology {plan.topology.name} should have {plan.topology.num_chips} "
                     f"devices, got {len(devices)}")
  return make_mesh(plan.mesh_shape, list(devices))


def sampling_mesh(mesh: Mesh) -> Mesh:
  """Where one host samples: its block of the mesh (the whole mesh on one host), as
  distributed.HostGroup gives the run's sampler."""
  processes = {d.process_index for d in mesh.devices.flat}
  return mesh if len(processes) == 1 else host_block(mesh, min(processes))


def _expected(name: str, plan: AotPlan) -> tuple[float, str]:
  m = plan.model
  if name == "update":
    return (rl.update_flops_6pt(m, plan.update_batch, plan.seq_len, plan.head_positions),
            f"one update: {plan.update_batch} x {plan.seq_len} tokens, forward + backward, LM "
            f"head on {plan.head_positions} positions per row")
  if name == "ref_logprobs":
    return (rl.forward_flops_2pt(m, plan.update_batch, plan.seq_len,
                                 head_positions=plan.head_positions),
            f"reference forward: {plan.update_batch} x {plan.seq_len} tokens, LM head on "
            f"{plan.head_positions} positions per row")
  if name == "sft_step":
    rows, T = plan.sft_rows, plan.sft_len
    return (rl.update_flops_6pt(m, rows, T, T - 1),
            f"one bootstrap SFT step: {rows} x {T} tokens, forward + backward, LM head on every "
            "position")
  if name == "prefill":
    return (rl.prefill_flops_2pt(m, plan.num_slots, plan.prefill_len, plan.cache_len),
            f"prefill: {plan.num_slots} slots x {plan.prefill_len} tokens")
  return (rl.prefill_flops_2pt(m, plan.num_slots, 1, plan.cache_len),
          f"one decode step: {plan.num_slots} slots, cache {plan.cache_len}")


def run_check(config: ml_collections.ConfigDict, devices: Sequence[Any], config_name: str,
              log=print) -> CheckResult:
  """Compiles [sft_step], update, [ref_logprobs], prefill and decode for the config's plan (the
  SFT step when the bootstrap has one: bootstrap.copy_steps + steps > 0, as pipeline/bootstrap.py
  builds it; 0 keeps a pretrained start as loaded)."""
  plan = make_plan(config)
  mesh = make_aot_mesh(plan, devices)
  host_mesh = sampling_mesh(mesh)
  full = RunPrograms(config, plan, plan.model, mesh, host_mesh)
  probes = [RunPrograms(config, plan, plan.model.replace(num_layers=n, unroll_layers=True), mesh,
                        host_mesh) for n in (1, 2)]
  boot = config.bootstrap
  names = ["sft_step"] if boot.get("copy_steps", 0) + boot.steps > 0 else []
  names += ["update"] + (["ref_logprobs"] if full.algorithm.needs_ref_logprobs else [])
  names += ["prefill", "decode"]
  state = per_chip_bytes(full.train_state())
  sampling = per_chip_bytes(full.sampling_params())
  ref = per_chip_bytes(full.ref_params()) if full.algorithm.needs_ref_logprobs else 0
  ref_what = " + ref params" if ref else ""
  resident = {
      "sft_step": (0, "nothing else (the bootstrap runs before the sampler exists)"),
      "update": (sampling + ref, "sampler params" + ref_what),
      "ref_logprobs": (state + sampling, "train state + sampler params"),
      "prefill": (state + ref, "train state" + ref_what),
      "decode": (state + ref, "train state" + ref_what),
  }
  reports, errors = [], {}
  for name in names:
    t0 = time.perf_counter()
    try:
      compiled = getattr(full, name)().lower().compile()
    except jax.errors.JaxRuntimeError as e:       # XLA refuses a program that cannot fit HBM
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      errors[name] = str(e).splitlines()[0]
      log(f"[aot] {config_name}: {name} does not fit: {errors[name]}")
      continue
    looped = _cost(compiled)
    one, two = (_cost(getattr(p, name)().lower().compile(compiler_options=PROBE_COMPILER_OPTIONS))
                for p in probes)
    L = plan.model.num_layers
    expected, work = _expected(name, plan)
    report = ProgramReport(
        name=name, work=work, **_memory(compiled), resident_bytes=resident[name][0],
        resident_what=resident[name][1],
        flops_per_chip=rl.extrapolate_layers(one["flops"], two["flops"], L),
        bytes_per_chip=rl.extrapolate_layers(one["bytes"], two["bytes"], L),
        reported_flops_per_chip=looped["flops"], expected_flops=expected,
        compile_s=time.perf_counter() - t0,
        chips=(host_mesh if name in ("prefill", "decode") else mesh).devices.size)
    log(f"[aot] {config_name}: {name} compiled in {report.compile_s:.0f}s, "
        f"{report.total_bytes / 2**30:.2f} GiB per chip")
    reports.append(report)
  topo = plan.topology
  return CheckResult(
      config_name=config_name, topology=topo.name, accelerator_type=topo.accelerator_type,
      chip=topo.chip.name, num_chips=topo.num_chips, hbm_bytes=topo.chip.hbm_bytes,
      peak_bf16_flops=topo.chip.peak_bf16_flops, hbm_bandwidth=topo.chip.hbm_bandwidth,
      mesh=plan.mesh_dict, model=plan.model.to_dict(), update_batch=plan.update_batch,
      seq_len=plan.seq_len, num_slots=plan.num_slots, cache_len=plan.cache_len,
      prefill_len=plan.prefill_len, programs=reports, reshard_bytes=state + ref + 2 * sampling,
      algorithm=full.algorithm.name,
      kl_beta=full.algorithm.grpo.kl_beta if full.algorithm.grpo else 0.0, compile_errors=errors)
