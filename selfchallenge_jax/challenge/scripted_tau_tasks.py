"""Good scripted tasks for the conversational families (retail, airline): a benchmark instance turned
into a CaT record whose verifier checks the records the task changes and the required outputs.

The checks are derived, not hand-written per task kind: the gold actions are replayed on a fresh
database and every top-level field of every record that differs from the initial database becomes
one comparison (tau-bench's reward compares whole databases; checking the changed fields is the
part a written verifier can hold). Required outputs are looked for, digit-bounded, in the agent's
messages to the user. Failure cases: the conversation without the write, the greeting alone, and
the write with one argument changed (another reason, payment method, zip, ...), kept only when it
really leads to a different checked value.
"""

from __future__ import annotations

import copy
from typing import Any

from selfchallenge_jax import envs
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.tau_common import TauEnvironment
from selfchallenge_jax.tasks.record import RESPOND

Data = dict[str, Any]
Check = tuple[str, str, str, Any]      # (table, record id, field, expected value)
# Look-up tools by name; only the others are replayed to find which action writes (each replay
# parses the whole database).
_READ_ONLY = ("get_", "find_", "list_", "search_", "calculate", "think")

_OUTPUTS = '''  said = [m["content"].lower().replace(",", "") for m in messages if m["kind"] == "respond"]
  for wanted in {outputs!r}:
    if not any(re.search("(?<![0-9])" + re.escape(wanted) + "(?![0-9])", m) for m in said):
      return False'''


def changed_fields(before: Data, after: Data) -> list[Check]:
  """Every (table, id, field, new value) where `after` differs from `before`, in stable order."""
  checks = []
  for table in sorted(after):
    for key in sorted(after[table]):
      old = before.get(table, {}).get(key, {})
      for field in sorted(after[table][key]):
        if after[table][key][field] != old.get(field):
          checks.append((table, key, field, after[table][key][field]))
  return checks


def tau_verifier(checks: list[Check], outputs: tuple[str, ...]) -> str:
  lines = (["import re", ""] if outputs else []) + ["def verify(state, answer, messages):"]
  current = None
  for table, key, field, value in checks:
    if (table, key) != current:
      lines.append(f"  record = state[{table!r}].get({key!r}, {{}})")
      current = (table, key)
    lines += [f"  if record.get({field!r}) != {value!r}:", "    return False"]
  if outputs:
    lines.append(_OUTPUTS.format(outputs=[o.lower() for o in outputs]))
  lines.append("  return True")
  return "\n".join(lines)


def _mutations(write: dict[str, Any], data: Data) -> list[dict[str, Any]]:
  """Variants of a write action with one argument changed; plausible mistakes."""
  arguments = write["arguments"]
  variants = []
  def variant(**changes: Any) -> None:
    variants.append({"name": write["name"], "arguments": {**copy.deepcopy(arguments), **changes}})
  if "reason" in arguments:
    variant(reason="ordered by mistake" if arguments["reason"] != "ordered by mistake"
            else "no longer needed")
  for key in ("payment_method_id", "payment_id"):
    if key in arguments:
      user = _owner(write, data)
      others = sorted(m for m in (user or {}).get("payment_methods", {}) if m != arguments[key])
      if others:
        variant(**{key: others[0]})
  if "zip" in arguments:
    variant(zip="00000" if arguments["zip"] != "00000" else "99999")
  if "total_baggages" in arguments:
    variant(total_baggages=arguments["total_baggages"] + 1,
            nonfree_baggages=arguments["nonfree_baggages"] + 1)
  if "passengers" in arguments and arguments["passengers"]:
    passengers = copy.deepcopy(arguments["passengers"])
    passengers[0]["dob"] = "1990-01-01" if passengers[0].get("dob") != "1990-01-01" else "1991-02-02"
    variant(passengers=passengers)
  return variants


def _owner(write: dict[str, Any], data: Data) -> Data | None:
  arguments = write["arguments"]
  if "user_id" in arguments:
    return data["users"].get(arguments["user_id"])
  for table in ("orders", "reservations"):
    key = arguments.get("order_id" if table == "orders" else "reservation_id")
    if key in data.get(table, {}):
      return data["users"].get(data[table][key]["user_id"])
  return None


def _said(actions: list[dict[str, Any]]) -> list[str]:
  return [a["arguments"]["content"] for a in actions if a["name"] == RESPOND]


def tau_task_fields(task: BenchmarkTask, env: TauEnvironment | None = None) -> dict[str, Any]:
  """instruction / verifier / solution / failure_cases / exploration of a CaT record for `task`."""
  env = env or envs.make(task.env, **task.env_kwargs)
  before = env.fresh_data()
  solution = [dict(a) for a in task.solution]
  checks = changed_fields(before, env.replay(solution))
  outputs = tuple(task.required_outputs)
  if not checks and not outputs:
    raise ValueError(f"benchmark task {task.task_id} changes nothing and requires no output")
  writes = [a for a in solution if a["name"] != RESPOND and not a["name"].startswith(_READ_ONLY)
            and changed_fields(before, env.replay([a]))]
  failures = []
  if writes:
    failures.append([a for a in solution if a not in writes])        # forgot the write
  failures.append(solution[:1])                                      # only said hello
  for write in writes[:1]:
    for variant in _mutations(write, before):
      wrong = [variant if a == write else a for a in solution]
      result = {(t, k, f): v for t, k, f, v in changed_fields(before, env.replay(wrong))}
      if any(result.get((t, k, f)) != v for t, k, f, v in checks):
        failures.append(wrong)
        break
  if outputs and not writes:
    wrong_said = [a for a in solution if a["name"] != RESPOND or a is solution[0]]
    wrong_said.append({"name": RESPOND, "arguments": {"content": _wrong_output(outputs[0])}})
    failures.append(wrong_said)
  exploration = [dict(a) for a in solution if a["name"] != RESPOND and a not in writes]
  return {"instruction": task.instruction.strip(), "verifier": tau_verifier(checks, outputs),
          "solution": solution, "failure_cases": failures, "exploration": exploration}


def _wrong_output(output: str) -> str:
  try:
    return f"It is {float(output) + 1:g}."
  except ValueError:
    return "I could not find that, sorry."
