"""jax.distributed setup, before any other JAX call, for TPU slices and for local multi-process runs.

On a TPU slice jax finds the coordinator, process count and id itself. A run started by
launch/local_multihost.py gets them from the environment below instead (one process per simulated
host, all on this machine), and CPU collectives across those processes go through gloo.
"""

from __future__ import annotations

import os

import jax

ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"     # the variable jax itself reads for the address
ENV_NUM_PROCESSES = "SELFCHALLENGE_NUM_PROCESSES"
ENV_PROCESS_ID = "SELFCHALLENGE_PROCESS_ID"


def launched_locally() -> bool:
  """True in a child of launch/local_multihost.py."""
  return ENV_PROCESS_ID in os.environ


def initialize() -> None:
  """jax.distributed.initialize from the local launcher's environment, or auto-detected (TPU)."""
  if not launched_locally():
    jax.distributed.initialize()
    return
  # Gloo is jax 0.10's default; set it explicitly since without a CPU collectives backend a
  # cross-process CPU computation fails only at its first collective.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=os.environ[ENV_COORDINATOR],
                             num_processes=int(os.environ[ENV_NUM_PROCESSES]),
                             process_id=int(os.environ[ENV_PROCESS_ID]),
                             initialization_timeout=120)
