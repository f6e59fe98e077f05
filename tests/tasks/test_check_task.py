"""CaT record JSON round trip and validation; check_task keeps a good task and names each rejection.

The environment is a tiny deterministic key-value store defined here, so these tests do not depend
on the real environment families.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.base import Environment, ToolError, function_schema
from selfchallenge_jax.sandbox import SandboxLimits, SandboxPool
from selfchallenge_jax.tasks import (CheckResult, CodeAsTask, Reason, TaskFormatError, check_task,
                                     check_tasks)


class KeyValueEnv(Environment):
  """A store with a counter; `seed` sets the counter's start so env_kwargs matter."""

  name = "test_kv"

  def __init__(self, seed: int = 0) -> None:
    super().__init__()
    self.seed = seed
    self.reset(seed=seed)

  @property
  def tools(self) -> list[dict[str, Any]]:
    return [
        function_schema("put", "Stores value under key.",
                        {"key": {"type": "string"}, "value": {"type": "string"}}),
        function_schema("get", "Reads a key.", {"key": {"type": "string"}}),
        function_schema("increment", "Adds one to the counter.", {}),
    ]

  def reset(self, seed: int | None = None, **kwargs: Any) -> str:
    self.store: dict[str, str] = {}
    self.counter = self.seed if seed is None else seed
    self.done, self.answer, self.actions = False, None, []
    return kwargs.get("instruction", "")

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    return {"put": self._put, "get": self._get, "increment": self._increment}

  def _put(self, key: str, value: str) -> str:
    self.store[key] = value
    return "ok"

  def _get(self, key: str) -> str:
    if key not in self.store:
      raise ToolError(f"no key {key!r}")
    return self.store[key]

  def _increment(self) -> str:
    self.counter += 1
    return str(self.counter)

  def state(self) -> dict[str, Any]:
    return {"store": dict(self.store), "counter": self.counter}


envs.register("test_kv", f"{__name__}:KeyValueEnv")

VERIFIER = """
def verify(state, answer, messages):
  tools = [m["name"] for m in messages if m["kind"] == "tool"]
  return (state["store"].get("color") == "blue" and state["counter"] == 11
          and answer == "stored" and tools == ["put", "increment"])
"""
SOLUTION = [{"name": "put", "arguments": {"key": "color", "value": "blue"}},
            {"name": "increment", "arguments": {}},
            {"name": "respond", "arguments": {"content": "stored"}}]
FAILURES = [
    [{"name": "put", "arguments": {"key": "color", "value": "red"}},
     {"name": "increment", "arguments": {}},
     {"name": "respond", "arguments": {"content": "stored"}}],
    # Same end state reached by extra actions: only a verifier that reads `messages` rejects it.
    [{"name": "put", "arguments": {"key": "color", "value": "blue"}},
     {"name": "get", "arguments": {"key": "color"}},
     {"name": "increment", "arguments": {}},
     {"name": "respond", "arguments": {"content": "stored"}}],
    [],
]


def good_record(**overrides: Any) -> dict[str, Any]:
  record = {"task_id": "kv-1", "env": "test_kv", "env_kwargs": {"seed": 10},
            "instruction": "Store blue under color, bump the counter, say 'stored'.",
            "verifier": VERIFIER, "solution": copy.deepcopy(SOLUTION),
            "failure_cases": copy.deepcopy(FAILURES),
            "provenance": {"model": "test", "step": 3, "source": "unit"}}
  record.update(overrides)
  return record


@pytest.fixture(scope="module")
def pool():
  with SandboxPool(num_workers=2, limits=SandboxLimits(cpu_s=1, wall_s=2)) as p:
    yield p


# ---- record -------------------------------------------------------------------------------------
def test_json_round_trip():
  task = CodeAsTask.from_json(good_record())
  assert CodeAsTask.from_json(task.to_json()) == task
  assert CodeAsTask.loads(task.dumps()) == task
  assert task.to_json() == good_record()
  assert task.solution[2] == {"name": "respond", "arguments": {"content": "stored"}}


def test_record_does_not_alias_its_input():
  record = good_record()
  task = CodeAsTask.from_json(record)
  record["solution"][0]["arguments"]["value"] = "green"
  record["env_kwargs"]["seed"] = 99
  assert task.solution[0]["arguments"]["value"] == "blue"
  assert task.env_kwargs == {"seed": 10}


@pytest.mark.parametrize("data, field", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ({k: v for k, v in good_record().items() if k != "verifier"}, "'verifier'"),
    (good_record(env=3), "'env'"),
    (good_record(instruction="  "), "'instruction'"),
    (good_record(env_kwargs=[1]), "'env_kwargs'"),
    (good_record(extra=1), "unknown field"),
    (good_record(solution=[]), "at least one action"),
    (good_record(solution=["put"]), "solution[0]"),
    (good_record(solution=[{"name": "put", "arguments": [1]}]), "solution[0].arguments"),
    (good_record(solution=[{"name": "", "arguments": {}}]), "solution[0].name"),
    (good_record(solution=[{"name": "put", "args": {}}]), "unknown key"),
    (good_record(failure_cases=[[{"name": "respond", "arguments": {"text": "x"}}]]),
     "failure_cases[0][0]"),
    (good_record(failure_cases={"a": []}), "'failure_cases'"),
    (good_record(provenance="me"), "'provenance'"),
])
def test_malformed_records_raise_a_clear_error(data, field):
  with pytest.raises(TaskFormatError) as error:
    CodeAsTask.from_json(data if isinstance(data, str) else json.dumps(data))
  assert field in str(error.value)


# ---- check_task ---------------------------------------------------------------------------------
def test_keeps_a_good_task(pool):
  result = check_task(good_record(), pool)
  assert (result.keep, result.reason) == (True, Reason.KEPT), result.detail
  assert result.task is not None and result.task.task_id == "kv-1"


def test_each_replay_starts_from_a_fresh_environment(pool):
  # The empty failure case must see the initial counter (10), not the solution's 11.
  verifier = "def verify(state, answer, messages):\n  return state['counter'] == 11\n"
  result = check_task(good_record(verifier=verifier, failure_cases=[[]]), pool)
  assert result.reason is Reason.KEPT, result.detail


def test_env_kwargs_reach_the_environment(pool):
  # With seed 0 the solution leaves the counter at 1, so the verifier (wants 11) rejects it.
  assert check_task(good_record(env_kwargs={"seed": 0}), pool).reason is Reason.SOLUTION_FAILS


def verifier_returning(body: str) -> str:
  return f"def verify(state, answer, messages):\n  {body}\n"


@pytest.mark.parametrize("overrides, reason", [
    ({"verifier": "def verify(state, answer, messages):\n  return (\n"}, Reason.VERIFIER_ERROR),
    ({"verifier": verifier_returning("return state['missing']")}, Reason.VERIFIER_ERROR),
    ({"verifier": verifier_returning("return 'yes'")}, Reason.VERIFIER_ERROR),
    ({"verifier": "def check(state, answer, messages):\n  return True\n"}, Reason.VERIFIER_ERROR),
    ({"verifier": verifier_returning("while True: pass")}, Reason.VERIFIER_TIMEOUT),
    ({"verifier": verifier_returning("return state['store'].get('color') == 'green'")},
     Reason.SOLUTION_FAILS),
    ({"verifier": verifier_returning("return state['store'].get('color') == 'blue'")},
     Reason.FAILURE_CASE_PASSES),
    ({"failure_cases": []}, Reason.NO_FAILURE_CASES),
    ({"env": "no_such_env"}, Reason.UNKNOWN_ENV),
    ({"env_kwargs": {"seed": 10, "family": "x"}}, Reason.ENV_ERROR),
    ({"solution": [{"name": "get", "arguments": {"key": "absent"}}] + SOLUTION},
     Reason.SOLUTION_ACTION_INVALID),
    ({"solution": [{"name": "fly", "arguments": {}}] + SOLUTION}, Reason.SOLUTION_ACTION_INVALID),
    ({"solution": SOLUTION + [{"name": "respond", "arguments": {"content": "again"}}]},
     Reason.SOLUTION_ACTION_INVALID),   # responding after the episode ended
    ({"solution": "not a list"}, Reason.UNPARSEABLE),
])
def test_rejects_with_the_right_reason(pool, overrides, reason):
  result = check_task(good_record(**overrides), pool)
  assert (result.keep, result.reason) == (False, reason), result.detail


def test_unparseable_json_text(pool):
  result = check_task('{"task_id": "x", ', pool)
  assert (result.keep, result.reason, result.task) == (False, Reason.UNPARSEABLE, None)


def test_a_failure_case_may_contain_invalid_actions(pool):
  failures = FAILURES + [[{"name": "get", "arguments": {"key": "absent"}}]]
  assert check_task(good_record(failure_cases=failures), pool).reason is Reason.KEPT


def test_hostile_verifier_is_contained(pool):
  verifier = ("import os, signal\ndef verify(state, answer, messages):\n"
              "  os.kill(os.getppid(), signal.SIGKILL)\n  return True\n")
  result = check_task(good_record(verifier=verifier), pool)
  assert result.reason is Reason.VERIFIER_ERROR
  assert check_task(good_record(), pool).keep   # the pool still serves


def test_check_tasks_batches_in_order(pool):
  records = [good_record(task_id=f"t{i}") for i in range(4)]
  records[1] = good_record(task_id="t1", verifier=verifier_returning("return True"))
  records[2] = "garbage"
  records[3] = CodeAsTask.from_json(good_record(task_id="t3"))
  results = check_tasks(records, pool)
  assert all(isinstance(r, CheckResult) for r in results)
  assert [r.reason for r in results] == [Reason.KEPT, Reason.FAILURE_CASE_PASSES,
                                         Reason.UNPARSEABLE, Reason.KEPT]
  assert [r.task.task_id if r.task else None for r in results] == ["t0", "t1", None, "t3"]
