"""Host-side work of a multi-process run: which process writes, how work is split, JSON gathers.

Phases whose work is host-side (evaluation and challenger episodes, sandbox checks) split it by
process and gather the results, so every process ends a phase with the same figures and process
0 writes the run's files:

  mine = share(items)                       # items[p::P] for process p of P
  everyone = gather_shares(results, len(items))     # all results, in the items' order
  if is_writer(): write(everyone)
  barrier("phase done")                     # the others wait until the files exist

With one process every function is the identity (no collective).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils


def is_writer() -> bool:
  """The process that writes run-level files (markers, reports, datasets): process 0."""
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Every process waits here until all have reached the barrier of the same name."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def _bucket(n: int) -> int:
  """Power-of-two sizes so the gather compiles a few programs, not one per payload size."""
  return 1 << max(6, (n - 1).bit_length())


def allgather_json(value: Any) -> list[Any]:
  """Every process's JSON-serializable `value`, in process order (a collective: all must call).

  Floats survive exactly (JSON writes the shortest repr that round-trips a float64); values JSON
  cannot write become their str().
  """
  if jax.process_count() == 1:
    return [value]
  data = np.frombuffer(json.dumps(value, default=str).encode(), np.uint8)
  sizes = multihost_utils.process_allgather(np.asarray([data.size], np.int32))
  padded = np.zeros(_bucket(int(sizes.max())), np.uint8)
  padded[:data.size] = data
  gathered = multihost_utils.process_allgather(padded)
  return [json.loads(bytes(row[:int(n)]).decode()) for row, n in zip(gathered, sizes.ravel())]


def share(items: Sequence[Any]) -> list[Any]:
  """This process's share of `items`: every process_count-th, from its process index."""
  return list(items[jax.process_index()::jax.process_count()])


def gather_shares(mine: Sequence[Any], total: int) -> list[Any]:
  """The results of every process's `share` of `total` items, back in the items' order.
  `mine` must be JSON-serializable (with one process it is returned as is)."""
  count = jax.process_count()
  if count == 1:
    return list(mine)
  per_process = allgather_json(list(mine))
  out: list[Any] = [None] * total
  for p, results in enumerate(per_process):
    if len(results) != len(range(p, total, count)):
      raise ValueError(f"process {p} returned {len(results)} results for its share of {total}")
    out[p::count] = results
  return out
