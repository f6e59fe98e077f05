"""The device mesh: named axes (data, fsdp, tensor) built from a config's mesh shape."""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh

MESH_AXES = ("data", "fsdp", "tensor")


def resolve_mesh_shape(shape: Sequence[int], num_devices: int) -> tuple[int, ...]:
  """Fills in a single -1 with the rest of the devices; checks the product equals num_devices."""
  shape = tuple(int(s) for s in shape)
  if len(shape) != len(MESH_AXES):
    raise ValueError(f"mesh shape {shape} must have {len(MESH_AXES)} entries for axes {MESH_AXES}")
  if shape.count(-1) > 1:
    raise ValueError(f"mesh shape {shape}: at most one axis may be -1")
  if any(s == 0 or s < -1 for s in shape):
    raise ValueError(f"mesh shape {shape}: sizes must be positive or -1")
  known = int(np.prod([s for s in shape if s != -1]))
  if -1 in shape:
    if num_devices % known:
      raise ValueError(f"mesh shape {shape} does not divide the {num_devices} devices "
                       f"({num_devices} is not a multiple of {known})")
    shape = tuple(num_devices // known if s == -1 else s for s in shape)
  if int(np.prod(shape)) != num_devices:
    raise ValueError(f"mesh shape {shape} (product {int(np.prod(shape))}) does not match the "
                     f"{num_devices} available devices")
  return shape


def make_mesh(shape: Sequence[int] = (1, -1, 1), devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A Mesh over `devices` (default: all) with axes (data, fsdp, tensor).

  Devices of several processes (hosts) are ordered process-major, so each host's devices are one
  contiguous block of the mesh spanning the tensor axis: a host samples on its own block
  (distributed/hosts.host_block). jax.make_mesh's physical order interleaves the hosts of a TPU
  slice (v5p-64 at (1, 16, 2): host 0's chips are not a block), and the run could not start.
  One process: jax.make_mesh's order for the physical topology (ICI rings on TPU); an explicit
  device list is reshaped as given.
  """
  if devices is None:
    devices = jax.devices()
  shape = resolve_mesh_shape(shape, len(devices))
  if len({d.process_index for d in devices}) > 1:
    ordered = sorted(devices, key=lambda d: (d.process_index, d.id))
    return Mesh(np.asarray(ordered).reshape(shape), MESH_AXES)
  if list(devices) == list(jax.devices()):
    return jax.make_mesh(shape, MESH_AXES, axis_types=(jax.sharding.AxisType.Auto,) * 3)
  return Mesh(np.asarray(devices).reshape(shape), MESH_AXES)


def single_device_mesh(device: jax.Device | None = None) -> Mesh:
  """The (1, 1, 1) mesh of one device (default: this process's first): what "no mesh" means, so
  single-device code runs the same sharded programs as a pod."""
  return Mesh(np.asarray([device or jax.local_devices()[0]]).reshape(1, 1, 1), MESH_AXES)
