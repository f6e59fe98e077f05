"""Multi-process runs: jax.distributed setup and what one host of several shares with the others."""

from selfchallenge_jax.distributed.hosts import HostGroup, host_block
from selfchallenge_jax.distributed.runtime import (ENV_COORDINATOR, ENV_NUM_PROCESSES,
                                                   ENV_PROCESS_ID, initialize, launched_locally)

__all__ = ["ENV_COORDINATOR", "ENV_NUM_PROCESSES", "ENV_PROCESS_ID", "HostGroup", "host_block",
           "initialize", "launched_locally"]
