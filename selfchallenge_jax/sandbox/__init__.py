"""Sandbox: run untrusted verifier and action code in confined worker processes (see pool.py)."""

from selfchallenge_jax.sandbox.isolation import IsolationLevel, SandboxUnavailableError
from selfchallenge_jax.sandbox.limits import SandboxLimits
from selfchallenge_jax.sandbox.pool import Job, SandboxPool
from selfchallenge_jax.sandbox.result import ErrorKind, SandboxResult, Status

__all__ = ["ErrorKind", "IsolationLevel", "Job", "SandboxLimits", "SandboxPool", "SandboxResult",
           "SandboxUnavailableError", "Status"]
