"""One small sandbox pool for the challenge tests (2 workers, short limits so a looping verifier
costs about a second)."""

import pytest

from selfchallenge_jax.sandbox import SandboxLimits, SandboxPool


@pytest.fixture(scope="session")
def pool():
  with SandboxPool(num_workers=2, limits=SandboxLimits(cpu_s=1, wall_s=2)) as p:
    yield p
