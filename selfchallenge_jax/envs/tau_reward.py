"""tau-bench's reward for retail / airline tasks, and a loader for tau-bench task files.

Reward 1 iff both hold (as tau-bench's Env.calculate_reward):
- the final database hashes equal to the database obtained by replaying the task's gold actions
  on a fresh copy of the initial database;
- every required output appears in some message the agent sent the user, compared lowercased
  with commas removed from the message ("1,234.5" matches "1234.5").

Task files: tau-bench ships tasks as Python (`tasks_test.py`: `Task(user_id=..., instruction=...,
actions=[Action(name=..., kwargs={...})], outputs=[...])`). `load_tau_tasks` reads that file
without executing it (literal values only), or a JSON export: a list of objects with the same
fields ({"user_id", "instruction", "actions": [{"name", "kwargs"}], "outputs"}).
"""

from __future__ import annotations

import ast
import dataclasses
import json
from typing import Any, Iterable

from etils import epath

from selfchallenge_jax import envs
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.tau_common import TERMINATE_TOOLS, TauEnvironment, data_hash


@dataclasses.dataclass(frozen=True)
class TauReward:
  reward: float
  r_actions: bool                 # final database == gold database
  r_outputs: bool                 # every required output was said
  outputs: dict[str, bool]        # required output -> found
  data_hash: str
  gold_hash: str


def respond_messages(actions: Iterable[dict[str, Any]]) -> list[str]:
  """The agent's messages to the user, from an env's action log."""
  return [a["content"] for a in actions if a.get("kind") == "respond"]


def output_found(output: str, messages: Iterable[str]) -> bool:
  wanted = output.lower()
  return any(wanted in m.lower().replace(",", "") for m in messages)


def tau_reward(task: BenchmarkTask, env: TauEnvironment) -> TauReward:
  """Scores a finished episode held in `env` (built from the task's env and env_kwargs)."""
  return _score(task, env.state(), respond_messages(env.actions), env)


def tau_reward_from_state(task: BenchmarkTask, final_state: dict[str, Any],
                          agent_messages: Iterable[str],
                          env: TauEnvironment | None = None) -> TauReward:
  """Scores a final database and the agent's messages.

  env: an environment built from the task's env and env_kwargs, reused for the gold replay
  (building one parses the whole database); by default the task's env is rebuilt.
  """
  env = envs.make(task.env, **task.env_kwargs) if env is None else env
  if not isinstance(env, TauEnvironment):
    raise ValueError(f"task {task.task_id}: env {task.env!r} is not a tau-bench style environment")
  return _score(task, final_state, list(agent_messages), env)


def _score(task: BenchmarkTask, final_state: dict[str, Any], messages: list[str],
           env: TauEnvironment) -> TauReward:
  final_hash = data_hash(final_state)
  _, gold_hash = env.gold(task.gold_actions)
  outputs = {output: output_found(output, messages) for output in task.required_outputs}
  r_actions, r_outputs = final_hash == gold_hash, all(outputs.values())
  return TauReward(reward=float(r_actions and r_outputs), r_actions=r_actions,
                   r_outputs=r_outputs, outputs=outputs, data_hash=final_hash, gold_hash=gold_hash)


# ---- task files -------------------------------------------------------------------------------
def task_from_tau(record: dict[str, Any], env: str, env_kwargs: dict[str, Any],
                  task_id: str) -> BenchmarkTask:
  """One tau-bench task record -> BenchmarkTask (gold actions as {"name", "arguments"})."""
  for key in ("instruction", "actions"):
    if key not in record:
      raise ValueError(f"tau-bench task {task_id}: missing field {key!r}")
  gold = []
  for action in record["actions"]:
    if not isinstance(action, dict) or "name" not in action:
      raise ValueError(f"tau-bench task {task_id}: each action needs a 'name', got {action!r}")
    gold.append({"name": action["name"],
                 "arguments": dict(action.get("kwargs", action.get("arguments")) or {})})
  outputs = tuple(str(o) for o in record.get("outputs") or ())
  # The expert replays the gold tool calls and says the outputs before any hand-off ends the talk.
  tools = [a for a in gold if a["name"] not in TERMINATE_TOOLS and a["name"] != "respond"]
  said = [{"name": "respond", "arguments": {"content": "Here is what you asked for: "
                                            + "; ".join(outputs)}}] if outputs else []
  ending = [a for a in gold if a["name"] in TERMINATE_TOOLS]
  return BenchmarkTask(
      task_id=task_id, env=env, env_kwargs=dict(env_kwargs),
      instruction=str(record["instruction"]), gold_actions=tuple(gold),
      required_outputs=outputs, solution=tuple(tools + said + ending))


def load_tau_tasks(path: str | epath.Path, env: str,
                   env_kwargs: dict[str, Any] | None = None) -> list[BenchmarkTask]:
  """Reads a tau-bench task file (.py as shipped, or a .json export) into BenchmarkTasks."""
  path = epath.Path(path)
  if not path.exists():
    raise FileNotFoundError(f"tau-bench task file not found: {path}")
  text = path.read_text()
  if path.suffix == ".py":
    records = _records_from_python(text, path)
  else:
    try:
      records = json.loads(text)
    except json.JSONDecodeError as e:
      raise ValueError(f"tau-bench task file {path} is not valid JSON: {e}") from e
    if isinstance(records, dict) and "tasks" in records:
      records = records["tasks"]
    if not isinstance(records, list):
      raise ValueError(f"tau-bench task file {path} must hold a list of tasks")
  return [task_from_tau(r, env, env_kwargs or {}, f"{env}-{path.stem}-{i}")
          for i, r in enumerate(records)]


def _records_from_python(text: str, path: epath.Path) -> list[dict[str, Any]]:
  # Literal values only: the file is data written as Python and is never executed.
  try:
    tree = ast.parse(text, filename=str(path))
  except SyntaxError as e:
    raise ValueError(f"tau-bench task file {path} is not valid Python: {e}") from e
  records = []
  for node in ast.walk(tree):
    if isinstance(node, ast.Call) and _call_name(node) == "Task":
      try:
        records.append({kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg})
      except ValueError as e:
        raise ValueError(f"tau-bench task file {path}, line {node.lineno}: {e}") from e
  if not records:
    raise ValueError(f"tau-bench task file {path} defines no Task(...) entries")
  return records


def _call_name(node: ast.Call) -> str:
  func = node.func
  return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _literal(node: ast.AST) -> Any:
  if isinstance(node, ast.Call) and _call_name(node) == "Action":
    return {kw.arg: _literal(kw.value) for kw in node.keywords if kw.arg}
  if isinstance(node, ast.List):
    return [_literal(element) for element in node.elts]
  try:
    return ast.literal_eval(node)
  except ValueError as e:
    raise ValueError(f"not a literal value: {ast.dump(node)[:80]}") from e
