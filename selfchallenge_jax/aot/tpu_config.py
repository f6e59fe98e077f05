"""Validates a TPU run config and derives what the AOT check compiles (the "plan").

A TPU config is a launch config (configs/tiny_cpu.py schema) plus a `tpu` section: topology
("v5p:2x4x4"), accelerator_type ("v5p-64"), zone, name, runtime_version, workdir (gs://), and an
`aot` section (prefill_len: the prompt length the sampler's prefill is checked at).
"""

from __future__ import annotations

import dataclasses

import ml_collections

from selfchallenge_jax.aot.chips import Topology, parse_topology
from selfchallenge_jax.model.config import LlamaConfig, get_config
from selfchallenge_jax.sharding.mesh import MESH_AXES, resolve_mesh_shape

TPU_FIELDS = ("topology", "accelerator_type", "zone", "name", "runtime_version", "workdir")


@dataclasses.dataclass(frozen=True)
class AotPlan:
  topology: Topology
  mesh_shape: tuple[int, ...]      # (data, fsdp, tensor), resolved
  model: LlamaConfig
  update_batch: int                # rollouts per update: tasks_per_batch x group_size
  seq_len: int                     # the longest update batch: the sampler's cache_len
  num_slots: int
  cache_len: int
  prefill_len: int
  chunk_steps: int
  head_positions: int              # LM-head positions per update row (sampling budget, <= T - 1)
  sft_rows: int                    # the bootstrap's largest SFT batch (sft_batch): rows, a
  sft_len: int                     # multiple of data x fsdp, of sft_len tokens (<= max_len)

  @property
  def batch_parallel(self) -> int:
    return self.mesh_shape[0] * self.mesh_shape[1]

  @property
  def chips_per_host(self) -> int:
    return self.topology.num_chips // self.topology.num_hosts

  @property
  def host_batch_parallel(self) -> int:
    """A host's sampling block splits its slots over this many devices (its chips / tensor)."""
    return self.chips_per_host // self.mesh_shape[2]

  @property
  def mesh_dict(self) -> dict[str, int]:
    return dict(zip(MESH_AXES, self.mesh_shape))


def model_config(config: ml_collections.ConfigDict) -> LlamaConfig:
  """The preset with the config's overrides. The vocabulary stays the preset's (a TPU run's
  tokenizer is the Llama 3 one, whose size the preset already has)."""
  overrides = dict(config.model)
  return get_config(overrides.pop("preset"), **overrides)


def _round_up(n: int, multiple: int) -> int:
  return -(-n // multiple) * multiple


def sft_batch(batch_tokens: int, length_multiple: int, max_len: int,
              row_multiple: int) -> tuple[int, int]:
  """(rows, length) of the bootstrap's largest SFT batch: of pipeline/demo_batches.DemoBatches'
  length buckets (multiples of length_multiple, capped at max_len), each holding batch_tokens //
  bucket rows rounded up to row_multiple (data x fsdp), the one with the most tokens (the longer on
  a tie). The rounding makes a bucket just under max_len the largest: 7936 x 48 rows on a 16-way
  batch, against 8192 x 32."""
  def rows(length: int) -> int:
    return _round_up(max(batch_tokens // length, 1), row_multiple)
  buckets = {min(n, max_len) for n in range(length_multiple, max_len + length_multiple,
                                             length_multiple)}
  length = max(buckets, key=lambda n: (rows(n) * n, n))
  return rows(length), length


def make_plan(config: ml_collections.ConfigDict) -> AotPlan:
  """Checks the config's TPU section against itself and the model; a clear ValueError if not."""
  if "tpu" not in config:
    raise ValueError("config has no `tpu` section (topology, accelerator_type, zone, ...)")
  missing = [f for f in TPU_FIELDS if not config.tpu.get(f)]
  if missing:
    raise ValueError(f"config.tpu is missing {missing}")
  topology = parse_topology(config.tpu.topology)
  if config.tpu.accelerator_type != topology.accelerator_type:
    raise ValueError(f"config.tpu.accelerator_type={config.tpu.accelerator_type!r} does not match "
                     f"topology {topology.name} ({topology.num_chips} chips = "
                     f"{topology.accelerator_type})")
  if not str(config.tpu.workdir).startswith("gs://"):
    raise ValueError(f"config.tpu.workdir={config.tpu.workdir!r}: a multi-host run needs a "
                     "gs:// workdir every host can reach")
  try:
    mesh_shape = resolve_mesh_shape(tuple(config.mesh), topology.num_chips)
  except ValueError as e:
    raise ValueError(f"config.mesh {tuple(config.mesh)} does not fit topology {topology.name} "
                     f"({topology.num_chips} devices): {e}") from e
  model = model_config(config)
  s, rl, boot = config.sampling, config.rl, config.bootstrap
  sft_rows, sft_len = sft_batch(boot.batch_tokens, boot.length_multiple, boot.max_len,
                                mesh_shape[0] * mesh_shape[1])
  plan = AotPlan(topology=topology, mesh_shape=mesh_shape, model=model,
                 update_batch=rl.tasks_per_batch * rl.group_size, seq_len=s.cache_len,
                 num_slots=s.num_slots, cache_len=s.cache_len, prefill_len=config.aot.prefill_len,
                 chunk_steps=s.chunk_steps,
                 head_positions=min(s.max_episode_tokens, s.cache_len - 1),
                 sft_rows=sft_rows, sft_len=sft_len)
  # Each host samples num_slots rows on its own chips (a block of the mesh spanning the tensor
  # axis: distributed/hosts.host_block) and its share of every update batch.
  # (With tensor dividing a host's chips, a row count data x fsdp divides also splits over hosts.)
  tensor = mesh_shape[2]
  if tensor > plan.chips_per_host or plan.chips_per_host % tensor:
    raise ValueError(f"config.mesh {mesh_shape}: the tensor axis ({tensor}) must divide a host's "
                     f"{plan.chips_per_host} chips: each host samples on its own chips")
  for what, n, parallel in (
      ("rl.tasks_per_batch x rl.group_size", plan.update_batch, plan.batch_parallel),
      ("sampling.num_slots (per host)", plan.num_slots, plan.host_batch_parallel)):
    if n % parallel:
      raise ValueError(f"{what} = {n} is not a multiple of its batch-parallel devices "
                       f"({parallel}): the batch would be replicated instead of split")

  if plan.cache_len > model.max_seq_len:
    raise ValueError(f"sampling.cache_len {plan.cache_len} exceeds the model's max_seq_len "
                     f"{model.max_seq_len}")
  if boot.max_len > model.max_seq_len:
    raise ValueError(f"bootstrap.max_len {boot.max_len} exceeds the model's max_seq_len "
                     f"{model.max_seq_len}")
  if not 0 < plan.prefill_len <= plan.cache_len:
    raise ValueError(f"aot.prefill_len {plan.prefill_len} must be in (0, cache_len]")
  return plan
