"""What one host (process) of a multi-process run shares with the others, for the trainer.

The update runs on the global mesh (every process's devices); sampling does not: each host rolls
out its own share of the batch on its own devices, with its own environments and sandbox pool.

  hosts = HostGroup(mesh, config)           # mesh: the global training mesh
  sampler = Sampler(hosts.sampler_params(params), config, mesh=hosts.sampling_mesh, ...)
  first_row = hosts.row_offset(local_rows)  # this host's rows of the global batch (stream ids)
  everyone = hosts.concat({"rewards": [...]})          # all hosts' lists, in process order
  batch = hosts.global_batch(local_batch, shardings)    # one global array per field

Host p's rows are rows [p * B, (p + 1) * B) of the global batch, in process order, so a global
batch equals the concatenation of the hosts' batches. With one process every method is the
identity (no collective, no copy): single-process behaviour is unchanged.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding

from selfchallenge_jax.distributed.processes import allgather_json, is_writer
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.partitioning import sampling_param_shardings, to_sampling_layout


def host_block(mesh: Mesh, process_index: int) -> Mesh:
  """The sub-mesh of `process_index`'s devices, keeping the mesh's axis names and tensor size.

  The host's devices must form a block of the mesh that spans the whole tensor axis (tensor
  parallelism within a host), so each device holds the same sampling-layout shard in both meshes.
  """
  devices = mesh.devices
  mine = np.vectorize(lambda d: d.process_index == process_index)(devices)
  if not mine.any():
    raise ValueError(f"process {process_index} has no device in the mesh {dict(mesh.shape)}")
  block = tuple(slice(int(ix.min()), int(ix.max()) + 1) for ix in np.nonzero(mine))
  if not mine[block].all() or mine.sum() != mine[block].size:
    raise ValueError(f"process {process_index}'s devices are not one block of the mesh "
                     f"{dict(mesh.shape)}; order the mesh so each host owns a contiguous block")
  local = devices[block]
  if local.shape[-1] != devices.shape[-1]:
    raise ValueError(f"the tensor axis ({devices.shape[-1]}) spans hosts; a host samples on its "
                     "own devices, so tensor parallelism must stay within a host")
  return Mesh(local, mesh.axis_names)


class HostGroup:
  """This process's view of the run's processes: its sampling mesh, its rows, the gathers."""

  def __init__(self, mesh: Mesh, config: LlamaConfig):
    self.mesh, self.config = mesh, config
    self.process_index, self.process_count = jax.process_index(), jax.process_count()
    self.sampling_mesh = mesh if self.single else host_block(mesh, self.process_index)
    self._local_sampling = sampling_param_shardings(config, self.sampling_mesh)

  @property
  def single(self) -> bool:
    return self.process_count == 1

  @property
  def is_writer(self) -> bool:
    """The process that writes run-level files (metrics, markers): process 0."""
    return is_writer()

  def row_offset(self, local_rows: int) -> int:
    """Index in the global batch of this host's first row (every host has `local_rows`)."""
    return self.process_index * local_rows

  def put(self, tree: Any, shardings: Any) -> Any:
    """jax.device_put that also places onto shardings spanning processes.

    Host-local values (the same on every host, e.g. params loaded from a checkpoint onto this
    host's CPU) go through host memory, since device_put refuses a committed local array for a
    sharding with other processes' devices; global arrays are resharded by a jitted identity.
    """
    if self.single:
      return jax.device_put(tree, shardings)

    def place(x, sharding):
      if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return x if x.sharding == sharding else jax.jit(lambda a: a, out_shardings=sharding)(x)
      return jax.device_put(np.asarray(x), sharding)
    return jax.tree.map(place, tree, shardings)

  def sampler_params(self, params: Any) -> Any:
    """Training-layout global params -> this host's sampling-layout params on sampling_mesh.

    to_sampling_layout on the global mesh unstacks the layers and replicates over data/fsdp (an
    all-gather), so this host's devices hold whole copies (split over tensor as in its block); they
    become arrays of the host-local mesh without another copy. Host-local params (e.g. just
    loaded on this host) are returned as they are: the sampler places them on its mesh itself.
    """
    if self.single or all(getattr(x, "is_fully_addressable", True)
                          for x in jax.tree.leaves(params)):
      return params
    replicated = to_sampling_layout(params, self.config, self.mesh)
    return jax.tree.map(
        lambda x, s: jax.make_array_from_single_device_arrays(
            x.shape, s, [shard.data for shard in x.addressable_shards]),
        replicated, self._local_sampling)

  def allgather(self, value: Any) -> list[Any]:
    """Every process's JSON-serializable `value`, in process order (a collective: all must call)."""
    return allgather_json(value)

  def concat(self, lists: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Every process's lists under each key, concatenated in process order (global batch order)."""
    if self.single:
      return {k: list(v) for k, v in lists.items()}
    per_host = self.allgather(lists)
    return {k: [x for host in per_host for x in host[k]] for k in lists}

  def global_batch(self, batch: Any, shardings: Any) -> Any:
    """Per-host numpy batch (this host's rows) -> global arrays sharded by `shardings`."""
    if self.single:
      return batch
    return jax.tree.map(self._global_array, batch, shardings)

  def global_shapes(self, batch: Any) -> Any:
    """The global arrays' shapes (ShapeDtypeStructs) of a per-host batch: its rows x processes."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(
        (np.shape(x)[0] * self.process_count,) + np.shape(x)[1:], np.asarray(x).dtype), batch)

  def _global_array(self, local: np.ndarray, sharding: NamedSharding) -> jax.Array:
    rows = local.shape[0]
    global_shape = self.global_shapes(local).shape
    starts = {idx[0].start or 0 for idx in
              sharding.addressable_devices_indices_map(global_shape).values()}
    first = self.row_offset(rows)
    if min(starts) != first:
      raise ValueError(f"the batch sharding gives process {self.process_index} rows from "
                       f"{min(starts)}, not {first}: its mesh does not order hosts along the batch")
    return jax.make_array_from_process_local_data(sharding, local, global_shape)
