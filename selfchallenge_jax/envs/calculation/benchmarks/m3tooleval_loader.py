"""Loads M3ToolEval-style task records (instruction + expected answer) as BenchmarkTasks.

A file is a JSON list, a JSON object {"tasks": [...]}, or JSON lines. Each record has:

    "instruction":      the task text,
    "expected_output":  the expected value (any JSON value; "expected_answer" is accepted too),
    "name":             M3ToolEval's task name, "<family>/<task>" (or "task_name"; optional when
                        `family` is given), which selects the environment:
                        message_decoder, cryptobotanists_plant_dna_sequencer (or dna_sequencer),
                        trade_calculator, travel_itinerary_planning -> "calculation";
                        web_browsing -> "web_browsing".

Expected values are stored as their Python `str` (a JSON list [1, 2] becomes "[1, 2]"), the form
answer_matches parses back, and as loaded (`expected_value`, for M3ToolEval's own answer check). M3ToolEval's travel tasks need its flight/hotel tables and its web tasks
its pages: pass `travel_data_path` / `web_pages_path` and they go into the tasks' env_kwargs.
Loaded tasks have no scripted solution.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.families import canonical_family
from selfchallenge_jax.envs.calculation.travel_itinerary import FAMILY as TRAVEL

WEB_BROWSING = "web_browsing"


def load_m3tooleval_tasks(path: str | pathlib.Path, family: str | None = None,
                          travel_data_path: str | None = None,
                          web_pages_path: str | None = None) -> list[BenchmarkTask]:
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"M3ToolEval task file not found: {path}")
  return [_to_task(record, f"{path}[{i}]", family, travel_data_path, web_pages_path)
          for i, record in enumerate(_records(path))]


def _records(path: pathlib.Path) -> list[Any]:
  text = path.read_text()
  try:
    data = json.loads(text)
  except json.JSONDecodeError:
    try:
      return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as e:
      raise ValueError(f"{path} is neither JSON nor JSON lines: {e}") from None
  if isinstance(data, dict) and isinstance(data.get("tasks"), list):
    return data["tasks"]
  if isinstance(data, list):
    return data
  if isinstance(data, dict):
    return [data]   # a JSON-lines file holding one record
  raise ValueError(f"{path} must hold a list of task records")


def _to_task(record: Any, where: str, family: str | None, travel_data_path: str | None,
             web_pages_path: str | None) -> BenchmarkTask:
  if not isinstance(record, dict):
    raise ValueError(f"{where}: a task record must be a JSON object")
  if "instruction" not in record:
    raise ValueError(f"{where}: missing 'instruction'")
  expected_key = "expected_output" if "expected_output" in record else "expected_answer"
  if expected_key not in record:
    raise ValueError(f"{where}: missing 'expected_output'")
  name = str(record.get("name") or record.get("task_name") or "")
  prefix = family or name.split("/")[0]
  if not prefix:
    raise ValueError(f"{where}: no task name to infer the family from; pass family=")
  if prefix == WEB_BROWSING:
    env, env_kwargs = WEB_BROWSING, ({"pages_path": web_pages_path} if web_pages_path else {})
  else:
    try:
      prefix = canonical_family(prefix)
    except ValueError as e:
      raise ValueError(f"{where}: {e}") from None
    env, env_kwargs = "calculation", {"family": prefix}
    if prefix == TRAVEL and travel_data_path:
      env_kwargs["data_path"] = travel_data_path
  return BenchmarkTask(task_id=name or f"{prefix}/{where}", env=env, env_kwargs=env_kwargs,
                       instruction=str(record["instruction"]),
                       expected_answer=format_expected(record[expected_key]),
                       expected_value=record[expected_key])
