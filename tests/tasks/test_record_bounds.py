"""Hostile CaT records: every malformed record (depth, size, count, types, encodings) is a
TaskFormatError with a reason, never an exception from deeper down; check_task rejects it as
unparseable (issue 19, item 6)."""

from __future__ import annotations

import json

import pytest

from selfchallenge_jax.tasks import CodeAsTask, Reason, TaskFormatError, check_task
from selfchallenge_jax.tasks import record as record_lib


def _record(**overrides):
  data = {"task_id": "t1", "env": "calculation", "env_kwargs": {"seed": 1},
          "instruction": "Add 1 and 2.", "verifier": "def verify(state, answer, messages):\n  return True",
          "solution": [{"name": "respond", "arguments": {"content": "Answer: 3"}}],
          "failure_cases": [[{"name": "respond", "arguments": {"content": "Answer: 4"}}]]}
  data.update(overrides)
  return data


def _nested(depth):
  value = "x"
  for _ in range(depth):
    value = {"a": [value]}
  return value


def _deep_json_text(depth):
  # Built as text: json.dumps of a value this deep would itself recurse.
  return ('{"task_id": "t1", "env": "calculation", "instruction": "i", "verifier": "v", '
          '"solution": [{"name": "respond", "arguments": {"content": "c"}}], "failure_cases": [], '
          '"env_kwargs": {"k": ' + "[" * depth + "]" * depth + "}}")


HOSTILE = {
    # depth 600: the record of issue 19 (deep copies raised RecursionError); 100_000: json itself.
    "nested_600_in_arguments": _record(solution=[{"name": "add", "arguments": {"x": _nested(300)}}]),
    "nested_in_env_kwargs": _record(env_kwargs={"seed": _nested(40)}),
    "nested_in_provenance": _record(provenance={"p": _nested(40)}),
    "deep_text_600": _deep_json_text(600),
    "deep_text_100000": _deep_json_text(100_000),
    "too_many_values": _record(env_kwargs={"k": list(range(record_lib.MAX_VALUES + 1))}),
    "too_large_text": json.dumps(_record(instruction="x" * (record_lib.MAX_RECORD_BYTES + 1))),
    "lone_surrogate_instruction": _record(instruction="bad \ud800 text"),
    "lone_surrogate_key": _record(env_kwargs={"\udfff": 1}),
    "lone_surrogate_escaped_text": json.dumps(_record()).replace('"Add 1', '"\\ud800 Add 1'),
    "nan": _record(env_kwargs={"x": float("nan")}),
    "infinity_text": json.dumps(_record()).replace('{"seed": 1}', '{"seed": Infinity}'),
    "non_json_type": _record(env_kwargs={"x": {1, 2}}),
    "tuple_value": _record(env_kwargs={"x": (1, 2)}),
    "bytes_value": _record(provenance={"b": b"\x00"}),
    "int_key": _record(env_kwargs={1: "x"}),
    "huge_int_text": json.dumps(_record()).replace('{"seed": 1}', '{"seed": ' + "9" * 5000 + "}"),
    "invalid_utf8_bytes": b'{"task_id": "\xff\xfe"}',
    "not_an_object": "[1, 2, 3]",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_record_is_a_format_error(name):
  with pytest.raises(TaskFormatError):
    CodeAsTask.from_json(HOSTILE[name])


class _NoPool:
  """check_task must reject these before any verifier runs."""

  def __getattr__(self, name):
    raise AssertionError(f"the sandbox was used ({name}) for an unparseable record")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_check_task_rejects_hostile_record_with_a_reason(name):
  result = check_task(HOSTILE[name], _NoPool())
  assert not result.keep and result.reason is Reason.UNPARSEABLE and result.detail


def test_bounds_leave_real_records_alone():
  deep_but_allowed = _record(env_kwargs={"seed": 1, "x": _nested(record_lib.MAX_DEPTH // 2 - 2)})
  task = CodeAsTask.from_json(deep_but_allowed)
  assert CodeAsTask.from_json(task.dumps()) == task
  assert CodeAsTask.from_json(json.dumps(_record()).encode()).instruction == "Add 1 and 2."


@pytest.mark.parametrize("env_kwargs", [
    {"seed": 1, "data_path": "/etc/shadow"}, {"seed": 1, "pages_path": "/root/.ssh/id_rsa"},
    {"data_dir": "gs://bucket/x"}, {"seed": {"nested": 1}}])
def test_records_cannot_name_files_for_the_trusted_side(env_kwargs):
  """env_kwargs reach envs.make in the trusted process: a record may hold only the seed and the
  choices the pipeline records, never a path (issue 19)."""
  result = check_task(_record(env_kwargs=env_kwargs), _NoPool())
  assert not result.keep and result.reason is Reason.UNPARSEABLE and "env_kwargs" in result.detail
