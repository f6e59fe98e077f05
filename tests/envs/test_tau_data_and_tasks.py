"""Built-in databases (layout, determinism), tau-bench data files, and benchmark task generation."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.airline import tasks as airline_tasks
from selfchallenge_jax.envs.airline.generator import generate_airline_data
from selfchallenge_jax.envs.retail import tasks as retail_tasks
from selfchallenge_jax.envs.retail.generator import generate_retail_data
from selfchallenge_jax.envs.tau_reward import tau_reward


def test_retail_generator_layout_and_determinism():
  data = generate_retail_data(0)
  assert (len(data["users"]), len(data["orders"]), len(data["products"])) == (500, 1000, 50)
  order = next(iter(data["orders"].values()))
  assert set(order) >= {"order_id", "user_id", "address", "items", "fulfillments", "status",
                        "payment_history"}
  assert all(o in data["users"][order["user_id"]]["orders"] for o in [order["order_id"]])
  assert json.dumps(generate_retail_data(0)) == json.dumps(data)
  assert generate_retail_data(1) != data


def test_airline_generator_layout_and_determinism():
  data = generate_airline_data(0)
  assert len(data["users"]) >= 100 and len(data["flights"]) >= 100 and len(data["reservations"]) >= 500
  flight = next(iter(data["flights"].values()))
  assert len(flight["dates"]) == 30 and flight["dates"]["2024-05-20"]["status"] == "available"
  reservation = next(iter(data["reservations"].values()))
  assert reservation["user_id"] in data["users"]
  assert all(leg["flight_number"] in data["flights"] for leg in reservation["flights"])
  assert json.dumps(generate_airline_data(0)) == json.dumps(data)
  assert generate_airline_data(1) != data


@pytest.mark.parametrize("family,tables", [("retail", ("users", "orders", "products")),
                                           ("airline", ("users", "flights", "reservations"))])
def test_data_dir_errors_name_the_file(tmp_path, family, tables):
  with pytest.raises(FileNotFoundError, match=f"missing .*{tables[0]}.json"):
    envs.make(family, data_dir=str(tmp_path / "empty"))
  for table in tables:
    (tmp_path / f"{table}.json").write_text("{}")
  (tmp_path / f"{tables[1]}.json").write_text("{broken")
  with pytest.raises(ValueError, match=f"{tables[1]}.json is not valid JSON"):
    envs.make(family, data_dir=str(tmp_path))
  (tmp_path / f"{tables[1]}.json").write_text("[]")
  with pytest.raises(ValueError, match="must hold a JSON object"):
    envs.make(family, data_dir=str(tmp_path / "."))


def test_data_dir_is_loaded_unchanged(retail_dir):
  env = envs.make("retail", data_dir=retail_dir)
  on_disk = {t: json.load(open(f"{retail_dir}/{t}.json")) for t in ("users", "orders", "products")}
  assert env.state() == on_disk


@pytest.mark.parametrize("module,count", [(retail_tasks, 16), (airline_tasks, 12)])
def test_expert_solutions_earn_reward_one(module, count):
  tasks = module.generate_benchmark_tasks(count, seed=3)
  env = envs.make(tasks[0].env, **tasks[0].env_kwargs)
  for task in tasks:
    env.reset(task=task)
    for step in task.solution:
      if step["name"] == "respond":
        env.respond(step["arguments"]["content"])
      else:
        assert not env.call_tool(step["name"], step["arguments"]).startswith("Error"), step
    result = tau_reward(task, env)
    assert result.reward == 1.0, (task.task_id, result)
    assert env.done  # the scripted user said ###STOP### once the goal was reached
    # Dropping the write (or the answer) must fail the same task.
    env.reset(task=task)
    for step in task.solution[:-2]:
      if step["name"] != "respond":
        env.call_tool(step["name"], step["arguments"])
    assert tau_reward(task, env).reward == 0.0, task.task_id


@pytest.mark.parametrize("module", [retail_tasks, airline_tasks])
def test_tasks_are_seeded(module):
  a, b, c = (module.generate_benchmark_tasks(6, seed=s) for s in (5, 5, 6))
  assert [t.to_json() for t in a] == [t.to_json() for t in b]
  assert [t.instruction for t in a] != [t.instruction for t in c]
  assert len({t.task_id for t in a}) == 6
