"""tau-bench task files on tau-bench-layout data dirs: the eval phase reproduces tau-bench's reward
for known trajectories (gold -> 1, a missing write -> 0, a missing output -> 0)."""

import json

import pytest

from selfchallenge_jax.agents.executor import executor_spec
from selfchallenge_jax.envs.airline.data import AIRLINE_TABLES, airline_data_json
from selfchallenge_jax.envs.airline.tasks import generate_benchmark_tasks as airline_tasks
from selfchallenge_jax.envs.retail.data import RETAIL_TABLES, retail_data_json
from selfchallenge_jax.envs.retail.tasks import generate_benchmark_tasks as retail_tasks
from selfchallenge_jax.envs.scoring import score_episode, tau_score
from selfchallenge_jax.evaluation.task_sets import (load_m3tooleval_task_sets, load_tau_task_set,
                                                    tau_task_file)
from selfchallenge_jax.rollout.episode import ENV_DONE, Episode

DB_SEED = 1   # not the envs' default 0, so a loader that ignored data_dir would hit unknown ids
WRITES = {"retail": "cancel_pending_order", "airline": "cancel_reservation"}


def combined_record(family):
  """One tau-bench task with a write and a required output, from two generated tasks."""
  if family == "retail":
    tasks = retail_tasks(8, seed=4, db_seed=DB_SEED)
    write_task, ask_task = tasks[0], tasks[7]
  else:
    tasks = airline_tasks(6, seed=4, db_seed=DB_SEED)
    write_task, ask_task = tasks[0], tasks[5]
  assert write_task.gold_actions[-1]["name"] == WRITES[family] and ask_task.required_outputs
  actions = list(write_task.gold_actions) + [a for a in ask_task.gold_actions
                                             if a not in write_task.gold_actions]
  request = ask_task.instruction.split(". ", 1)[1]
  return {"annotator": "0", "user_id": "u",
          "instruction": f"{write_task.instruction} Also: {request}",
          "actions": [{"name": a["name"], "kwargs": a["arguments"]} for a in actions],
          "outputs": list(ask_task.required_outputs)}


def python_task_file(records):
  lines = ["from tau_bench.types import Action, Task", "", "TASKS_TEST = ["]
  for r in records:
    actions = ", ".join(f"Action(name={a['name']!r}, kwargs={a['kwargs']!r})" for a in r["actions"])
    lines.append(f"    Task(annotator={r['annotator']!r}, user_id={r['user_id']!r}, "
                 f"instruction={r['instruction']!r}, actions=[{actions}], "
                 f"outputs={r['outputs']!r}),")
  return "\n".join(lines + ["]", ""])


@pytest.fixture(scope="module", params=["retail", "airline"])
def layout(request, tmp_path_factory):
  """tau_bench/envs/<family>/{data/<table>.json, tasks_test.py or .json} as tau-bench ships it."""
  family = request.param
  root = tmp_path_factory.mktemp("tau") / family
  data_dir = root / "data"
  data_dir.mkdir(parents=True)
  tables, db = ((RETAIL_TABLES, retail_data_json(DB_SEED)) if family == "retail"
                else (AIRLINE_TABLES, airline_data_json(DB_SEED)))
  for name, value in json.loads(db).items():
    assert name in tables
    (data_dir / f"{name}.json").write_text(json.dumps(value))
  record = combined_record(family)
  if family == "retail":     # tau-bench's own Python file, read without executing it
    (root / "tasks_test.py").write_text(python_task_file([record]))
  else:                      # a JSON export beside the data
    (root / "tasks_test.json").write_text(json.dumps([record]))
  return family, data_dir, record


def trajectory(task, steps, messages):
  """A known trajectory acted out in the executor's env, as a rollout Episode."""
  spec = executor_spec(task, stream_id=0)
  env = spec.env
  for step in steps:
    observation = env.call_tool(step["name"], step["arguments"])
    assert not observation.startswith("Error"), (step, observation)
  for message in messages:
    env.respond(message)
  return Episode(tag=spec.tag, tokens=[], loss_mask=[], logprobs=[], turns=[],
                 end_reason=ENV_DONE, answer=env.answer, final_state=env.state(),
                 actions=list(env.actions))


def test_loaded_task_matches_the_file(layout):
  family, data_dir, record = layout
  (task,) = load_tau_task_set(family, data_dir)
  assert task.env == family and task.env_kwargs == {"data_dir": str(data_dir)}
  assert task.instruction == record["instruction"]
  assert [a["name"] for a in task.gold_actions] == [a["name"] for a in record["actions"]]
  assert task.required_outputs == tuple(record["outputs"])


def test_gold_trajectory_scores_one(layout):
  family, data_dir, record = layout
  (task,) = load_tau_task_set(family, data_dir)
  said = f"The answer is {record['outputs'][0]}."
  episode = trajectory(task, task.gold_actions, [said])
  assert score_episode(task, episode) == 1.0
  detail = tau_score(task, episode)
  assert detail.r_actions and detail.r_outputs and detail.data_hash == detail.gold_hash


def test_missing_write_scores_zero(layout):
  family, data_dir, record = layout
  (task,) = load_tau_task_set(family, data_dir)
  steps = [a for a in task.gold_actions if a["name"] != WRITES[family]]
  assert len(steps) == len(task.gold_actions) - 1
  episode = trajectory(task, steps, [f"The answer is {record['outputs'][0]}."])
  assert score_episode(task, episode) == 0.0
  assert not tau_score(task, episode).r_actions and tau_score(task, episode).r_outputs


def test_missing_output_scores_zero(layout):
  family, data_dir, _ = layout
  (task,) = load_tau_task_set(family, data_dir)
  episode = trajectory(task, task.gold_actions, ["All done, have a nice day."])
  assert score_episode(task, episode) == 0.0
  detail = tau_score(task, episode)
  assert detail.r_actions and not detail.r_outputs


def test_task_file_lookup(tmp_path):
  data_dir = tmp_path / "airline" / "data"
  data_dir.mkdir(parents=True)
  with pytest.raises(FileNotFoundError, match="tasks_test"):
    tau_task_file(data_dir)
  (tmp_path / "airline" / "tasks.py").write_text("")     # older tau-bench airline name
  assert tau_task_file(data_dir).name == "tasks.py"
  (data_dir / "tasks_test.json").write_text("[]")
  assert tau_task_file(data_dir) == data_dir / "tasks_test.json"
  (tmp_path / "airline" / "tasks_test.py").write_text("")
  assert tau_task_file(data_dir).name == "tasks_test.py"
  with pytest.raises(FileNotFoundError):
    tau_task_file(data_dir, split="dev")
  with pytest.raises(ValueError, match="tau-bench tasks are for"):
    load_tau_task_set("calculation", data_dir)


def test_m3tooleval_records_group_by_environment(tmp_path):
  path = tmp_path / "m3.jsonl"
  records = [
      {"name": "message_decoder/0", "instruction": "Decode 48656c6c6f.", "expected_output": "Hello"},
      {"name": "web_browsing/3", "instruction": "Find the price of X.", "expected_output": 12.5},
      {"name": "trade_calculator/1", "instruction": "Trade.", "expected_output": [1, 2]},
  ]
  path.write_text("\n".join(json.dumps(r) for r in records))
  sets = load_m3tooleval_task_sets(path, web_pages_path="pages.jsonl")
  assert sorted(sets) == ["calculation", "web_browsing"]
  assert [t.expected_answer for t in sets["calculation"]] == ["Hello", "[1, 2]"]
  assert sets["web_browsing"][0].env_kwargs == {"pages_path": "pages.jsonl"}
