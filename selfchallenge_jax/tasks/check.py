"""check_task: the CaT filter. Keep a task only if its verifier runs, its solution passes and every
failure case fails (PAPER.md, step 2), with one fixed reason per decision.

Checks, in order (the first that applies is the reason):
  unparseable              the record is not valid CaT JSON (see record.py), or its env_kwargs
                           hold more than RECORD_ENV_KWARGS (a record must not name files the
                           trusted side would read: data_path, pages_path, data_dir, ...)
  unknown_env              no environment registered under task.env
  no_failure_cases         nothing to prove the verifier is not lenient
  env_error                building, resetting or stepping the environment raised, or its state
                           is not JSON-serializable
  solution_action_invalid  a solution action's observation starts with "Error: "
  verifier_timeout         the verifier hit a CPU or wall limit on some replay
  verifier_error           it did not compile, raised, returned a non-bool, ... on some replay
  solution_fails           verify(solution replay) is False
  failure_case_passes      verify(some failure-case replay) is True
  kept                     all of the above passed
  duplicate                (never returned here) a near-duplicate of an earlier task, rejected by
                           challenge/dedup.py before checking; listed so datasets can store it

The verifier is called as `verify(state: dict, answer: str, messages: list) -> bool` (record.py).
Environments run here, in the calling process (they are our code); only the verifier runs in the
sandbox, all replays of all tasks in one parallel batch.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Sequence

from absl import logging

from selfchallenge_jax import envs
from selfchallenge_jax.sandbox import ErrorKind, Job, SandboxPool, SandboxResult, Status
from selfchallenge_jax.tasks.record import CodeAsTask, TaskFormatError
from selfchallenge_jax.tasks.replay import Replay, replay


#: What a model-written record may pass to envs.make: the instance's seed and choices the pipeline
#: itself records (challenge/challenger_env.challenger_env_kwargs), all JSON scalars.
RECORD_ENV_KWARGS = frozenset({"seed", "family", "start_page", "lines_per_view"})


class Reason(str, enum.Enum):
  KEPT = "kept"
  UNPARSEABLE = "unparseable"
  UNKNOWN_ENV = "unknown_env"
  NO_FAILURE_CASES = "no_failure_cases"
  ENV_ERROR = "env_error"
  SOLUTION_ACTION_INVALID = "solution_action_invalid"
  VERIFIER_TIMEOUT = "verifier_timeout"
  VERIFIER_ERROR = "verifier_error"
  SOLUTION_FAILS = "solution_fails"
  FAILURE_CASE_PASSES = "failure_case_passes"
  DUPLICATE = "duplicate"


@dataclasses.dataclass(frozen=True)
class CheckResult:
  keep: bool
  reason: Reason
  detail: str = ""                         # human-readable: which replay, which error
  task: CodeAsTask | None = None           # the parsed task (None when unparseable)


def _reject(reason: Reason, detail: str, task: CodeAsTask | None = None) -> CheckResult:
  return CheckResult(keep=False, reason=reason, detail=detail, task=task)


@dataclasses.dataclass
class _Pending:
  """A task whose replays succeeded and whose verifier runs still have to come back."""
  task: CodeAsTask
  first_job: int   # index of the solution's job; failure cases follow


def check_task(task: CodeAsTask | str | dict[str, Any], pool: SandboxPool) -> CheckResult:
  """Filters one task (a CodeAsTask or its JSON); see the module docstring for the reasons."""
  return check_tasks([task], pool)[0]


def check_tasks(tasks: Sequence[CodeAsTask | str | dict[str, Any]],
                pool: SandboxPool) -> list[CheckResult]:
  """Filters many tasks; every verifier call of every task goes to the pool in one parallel map."""
  results: list[CheckResult | None] = [None] * len(tasks)
  pending: dict[int, _Pending] = {}
  jobs: list[Job] = []
  for index, raw in enumerate(tasks):
    outcome = _prepare(raw)
    if isinstance(outcome, CheckResult):
      results[index] = outcome
      continue
    task, replays = outcome
    pending[index] = _Pending(task, len(jobs))
    jobs.extend(Job.verify(task.verifier, r.state, r.answer, r.messages) for r in replays)
  verdicts = pool.verify_map(jobs) if jobs else []
  for index, item in pending.items():
    count = 1 + len(item.task.failure_cases)
    results[index] = _decide(item.task, verdicts[item.first_job:item.first_job + count])
  counts: dict[str, int] = {}
  for result in results:
    counts[result.reason.value] = counts.get(result.reason.value, 0) + 1
  logging.info("check_tasks: %d tasks, %s", len(tasks), counts)
  return results  # type: ignore[return-value]


def _prepare(raw: CodeAsTask | str | dict[str, Any]) -> CheckResult | tuple[CodeAsTask, list[Replay]]:
  """Parses and replays; returns a rejection or the task with its solution + failure replays."""
  try:
    task = raw if isinstance(raw, CodeAsTask) else CodeAsTask.from_json(raw)
  except TaskFormatError as e:
    return _reject(Reason.UNPARSEABLE, str(e))
  extra = sorted(set(task.env_kwargs) - RECORD_ENV_KWARGS)
  if extra:
    return _reject(Reason.UNPARSEABLE, f"env_kwargs {extra} are not allowed in a record; "
                   f"allowed: {sorted(RECORD_ENV_KWARGS)}", task)
  nested = sorted(k for k, v in task.env_kwargs.items() if isinstance(v, (dict, list)))
  if nested:
    return _reject(Reason.UNPARSEABLE, f"env_kwargs {nested} must be scalars", task)
  if task.env not in envs.names():
    return _reject(Reason.UNKNOWN_ENV, f"no environment {task.env!r}", task)
  if not task.failure_cases:
    return _reject(Reason.NO_FAILURE_CASES, "the task has no failure cases", task)
  replays = []
  for label, actions in [("solution", task.solution)] + [
      (f"failure_cases[{i}]", case) for i, case in enumerate(task.failure_cases)]:
    try:
      replays.append(replay(task, actions))
    except Exception as e:   # environments must not raise; a task that makes one do is unusable
      return _reject(Reason.ENV_ERROR, f"{label}: {type(e).__name__}: {e}", task)
  if replays[0].first_error is not None:
    return _reject(Reason.SOLUTION_ACTION_INVALID, replays[0].first_error, task)
  return task, replays


def _decide(task: CodeAsTask, verdicts: Sequence[SandboxResult]) -> CheckResult:
  labels = ["solution"] + [f"failure_cases[{i}]" for i in range(len(task.failure_cases))]
  for label, verdict in zip(labels, verdicts):
    if verdict.status is Status.TIMEOUT:
      return _reject(Reason.VERIFIER_TIMEOUT, f"{label}: {verdict.message}", task)
  for label, verdict in zip(labels, verdicts):
    if verdict.status is Status.ERROR:
      reason = Reason.ENV_ERROR if verdict.error_kind is ErrorKind.BAD_INPUT else (
          Reason.VERIFIER_ERROR)
      kind = verdict.error_kind.value if verdict.error_kind else "error"
      return _reject(reason, f"{label}: {kind}: {verdict.message}", task)
  if verdicts[0].status is not Status.PASSED:
    return _reject(Reason.SOLUTION_FAILS, "verify(solution) returned False", task)
  for label, verdict in zip(labels[1:], verdicts[1:]):
    if verdict.status is Status.PASSED:
      return _reject(Reason.FAILURE_CASE_PASSES, f"verify({label}) returned True", task)
  return CheckResult(keep=True, reason=Reason.KEPT, task=task)
