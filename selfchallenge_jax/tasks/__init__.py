"""Code-as-Task records (record.py) and the sandboxed filter that keeps or rejects them (check.py)."""

from selfchallenge_jax.tasks.check import CheckResult, Reason, check_task, check_tasks
from selfchallenge_jax.tasks.record import CodeAsTask, TaskFormatError

__all__ = ["CheckResult", "CodeAsTask", "Reason", "TaskFormatError", "check_task", "check_tasks"]
