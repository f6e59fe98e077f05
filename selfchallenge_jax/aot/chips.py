"""TPU chip generations (published per-chip peaks) and slice topology names.

A topology name is "<generation>:<dims>", e.g. "v5p:4x4x4" (64 chips), the form
jax.experimental.topologies.get_topology_desc takes. Accelerator types ("v5p-128") count
TensorCores on v4 / v5p (two per chip) and chips on v5e / v6e, as Cloud TPU names them.
"""

from __future__ import annotations

import dataclasses
import math

GIB = 1024**3


@dataclasses.dataclass(frozen=True)
class ChipSpec:
  name: str
  hbm_bytes: int               # per chip
  peak_bf16_flops: float       # per chip, FLOP/s
  hbm_bandwidth: float         # per chip, bytes/s
  cores_per_chip: int          # TensorCores per chip as counted by the accelerator type name
  source: str
  # get_topology_desc's chip_config_name: v4 TPU VMs run megacore (one JAX device per chip); the
  # AOT topology's default would be one device per TensorCore.
  aot_chip_config: str | None = None


# Cloud TPU system architecture pages (cloud.google.com/tpu/docs/<generation>).
CHIPS: dict[str, ChipSpec] = {
    "v4": ChipSpec("v4", 32 * GIB, 275e12, 1200e9, 2, "cloud.google.com/tpu/docs/v4", "megacore"),
    "v5e": ChipSpec("v5e", 16 * GIB, 197e12, 819e9, 1, "cloud.google.com/tpu/docs/v5e"),
    "v5p": ChipSpec("v5p", 95 * GIB, 459e12, 2765e9, 2, "cloud.google.com/tpu/docs/v5p"),
    "v6e": ChipSpec("v6e", 32 * GIB, 918e12, 1640e9, 1, "cloud.google.com/tpu/docs/v6e"),
}


@dataclasses.dataclass(frozen=True)
class Topology:
  name: str                    # "v5p:4x4x4"
  chip: ChipSpec
  dims: tuple[int, ...]

  @property
  def num_chips(self) -> int:
    return math.prod(self.dims)

  @property
  def num_hosts(self) -> int:
    """TPU VM hosts of the slice: 4 chips each, except single-host v5e / v6e slices of <= 8."""
    if self.chip.name in ("v5e", "v6e") and self.num_chips <= 8:
      return 1
    return max(1, math.ceil(self.num_chips / 4))

  @property
  def accelerator_type(self) -> str:
    """The Cloud TPU accelerator type of this slice, e.g. "v5p-128" for v5p:4x4x4."""
    prefix = "v5litepod" if self.chip.name == "v5e" else self.chip.name
    return f"{prefix}-{self.num_chips * self.chip.cores_per_chip}"


def parse_topology(name: str) -> Topology:
  """"v5p:2x4x4" -> Topology; a clear ValueError for anything else."""
  generation, sep, shape = name.partition(":")
  if not sep or generation not in CHIPS:
    raise ValueError(f"topology {name!r}: expected '<generation>:<dims>' with generation one of "
                     f"{sorted(CHIPS)}, e.g. 'v5p:4x4x4'")
  try:
    dims = tuple(int(d) for d in shape.split("x"))
  except ValueError:
    dims = ()
  want = 3 if generation in ("v4", "v5p") else 2
  if len(dims) != want or any(d <= 0 for d in dims):
    raise ValueError(f"topology {name!r}: {generation} slices have {want} positive dims "
                     f"joined by 'x' (e.g. {'4x4x4' if want == 3 else '16x16'})")
  return Topology(name=name, chip=CHIPS[generation], dims=dims)
