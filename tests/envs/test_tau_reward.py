"""tau-bench reward: gold-database hash equality plus required outputs; task file loading."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.tau_common import data_hash
from selfchallenge_jax.envs.tau_reward import (load_tau_tasks, output_found, task_from_tau,
                                               tau_reward, tau_reward_from_state)

TAU_TASK = {
    "annotator": "0", "user_id": "ann_lee_1",
    "instruction": "Your name is Ann Lee and your email is ann.lee@example.com. Cancel order #W1 "
                   "because it is no longer needed, and tell me the total of #W2.",
    "actions": [
        {"name": "find_user_id_by_email", "kwargs": {"email": "ann.lee@example.com"}},
        {"name": "get_order_details", "kwargs": {"order_id": "#W1"}},
        {"name": "cancel_pending_order", "kwargs": {"order_id": "#W1", "reason": "no longer needed"}},
        {"name": "modify_user_address", "kwargs": {"user_id": "ann_lee_1", "address1": "2 Elm",
                                                   "address2": "", "city": "Austin", "state": "TX",
                                                   "country": "USA", "zip": "78702"}},
    ],
    "outputs": ["1070.5"],
}


@pytest.fixture
def task(retail_dir):
  return task_from_tau(TAU_TASK, "retail", {"data_dir": retail_dir}, "t0")


def play(task, steps, messages=()):
  env = envs.make(task.env, **task.env_kwargs)
  env.reset(task=task)
  for step in steps:
    env.call_tool(step["name"], step["arguments"])
  for message in messages:
    env.respond(message)
  return env


def test_gold_actions_and_outputs_earn_reward_one(task):
  assert task.gold_actions[2] == {"name": "cancel_pending_order",
                                  "arguments": {"order_id": "#W1", "reason": "no longer needed"}}
  env = play(task, task.gold_actions, ["The total is $1,070.50."])
  result = tau_reward(task, env)
  assert (result.reward, result.r_actions, result.r_outputs) == (1.0, True, True)
  assert result.outputs == {"1070.5": True}


def test_dropped_action_gives_zero(task):
  env = play(task, task.gold_actions[:-1], ["The total is 1070.5"])
  result = tau_reward(task, env)
  assert result.reward == 0.0 and not result.r_actions and result.r_outputs


def test_wrong_argument_gives_zero(task):
  steps = list(task.gold_actions)
  steps[2] = {"name": "cancel_pending_order", "arguments": {"order_id": "#W1", "reason": "ordered by mistake"}}
  assert tau_reward(task, play(task, steps, ["1070.5"])).reward == 0.0


def test_missing_output_gives_zero(task):
  result = tau_reward(task, play(task, task.gold_actions, ["The total is 1070"]))
  assert result.reward == 0.0 and result.r_actions and result.outputs == {"1070.5": False}


def test_output_normalization():
  assert output_found("1070.5", ["Total: 1,070.5 dollars"])
  assert output_found("Blue", ["it is BLUE"])
  assert not output_found("1070.5", ["1 070.5"])


def test_reward_from_state_rebuilds_the_env(task):
  env = play(task, task.gold_actions)
  assert tau_reward_from_state(task, env.state(), ["1070.5"]).reward == 1.0
  assert tau_reward_from_state(task, env.fresh_data(), ["1070.5"]).reward == 0.0


def test_hash_ignores_key_order_but_not_list_order():
  assert data_hash({"a": 1, "b": [1, 2]}) == data_hash({"b": [1, 2], "a": 1})
  assert data_hash({"a": [1, 2]}) != data_hash({"a": [2, 1]})


def test_load_json_and_python_task_files(tmp_path, retail_dir):
  (tmp_path / "tasks.json").write_text(json.dumps([TAU_TASK]))
  (tmp_path / "tasks_test.py").write_text(
      "from tau_bench.types import Task, Action\n\nTASKS_TEST = [\n  Task(\n    annotator='0',\n"
      "    user_id='ann_lee_1',\n    instruction='Cancel #W1.',\n    actions=[\n"
      "      Action(name='cancel_pending_order', kwargs={'order_id': '#W1', 'reason': 'no longer needed'}),\n"
      "      Action(name='transfer_to_human_agents', kwargs={'summary': 'done'}),\n"
      "    ],\n    outputs=[],\n  ),\n]\n")
  from_json = load_tau_tasks(tmp_path / "tasks.json", "retail", {"data_dir": retail_dir})
  from_py = load_tau_tasks(tmp_path / "tasks_test.py", "retail", {"data_dir": retail_dir})
  assert from_json[0].gold_actions == task_from_tau(TAU_TASK, "retail", {}, "x").gold_actions
  assert from_py[0].gold_actions[1] == {"name": "transfer_to_human_agents", "arguments": {"summary": "done"}}
  # The expert solution replays the gold; the hand-off comes last and ends the episode.
  env = play(from_py[0], from_py[0].solution)
  assert env.done and tau_reward(from_py[0], env).reward == 1.0


def test_bad_task_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="not found"):
    load_tau_tasks(tmp_path / "missing.json", "retail")
  (tmp_path / "bad.json").write_text("[{")
  with pytest.raises(ValueError, match="not valid JSON"):
    load_tau_tasks(tmp_path / "bad.json", "retail")
  (tmp_path / "evil.py").write_text("Task(instruction=__import__('os').system('echo hi'), actions=[])\n")
  with pytest.raises(ValueError, match="not a literal value"):
    load_tau_tasks(tmp_path / "evil.py", "retail")
  (tmp_path / "noinstr.json").write_text(json.dumps([{"actions": []}]))
  with pytest.raises(ValueError, match="missing field 'instruction'"):
    load_tau_tasks(tmp_path / "noinstr.json", "retail")
