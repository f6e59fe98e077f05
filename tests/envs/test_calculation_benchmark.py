"""Generated calculation benchmark tasks: solved by their scripted solution, deterministic per seed,
different across seeds."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation import FAMILIES, answer_matches, generate_benchmark_tasks
from selfchallenge_jax.envs.calculation.answer_match import parse_value
from selfchallenge_jax.envs.calculation.benchmarks import GENERATORS, replay


def wrong_answer(expected: str) -> str:
  """A plausible but wrong answer for `expected`."""
  value = parse_value(expected)
  if isinstance(value, bool):
    return str(not value)
  if isinstance(value, (int, float)):
    return str(value + 1)
  if isinstance(value, (list, tuple)):
    return str(list(value)[:-1])
  if isinstance(value, dict):
    return str({k: v + 1 for k, v in value.items()})
  return expected + "X"


def check_solved(task: BenchmarkTask) -> None:
  env = envs.make(task.env, **task.env_kwargs)
  env.reset(instruction=task.instruction)
  outputs = replay(env, task)
  assert not any(o.startswith("Error:") for o in outputs), outputs
  assert task.solution[-1]["name"] == "respond"
  assert env.done and env.answer.startswith("Answer: ")
  assert answer_matches(env.answer, task.expected_answer)
  assert not answer_matches("Answer: " + wrong_answer(task.expected_answer), task.expected_answer)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [0, 123])
def test_generated_tasks_are_solved_by_their_solution(family, seed):
  tasks = GENERATORS[family].generate_benchmark_tasks(16, seed)
  assert len(tasks) == 16 and len({t.task_id for t in tasks}) == 16
  for task in tasks:
    assert task.env == "calculation" and task.env_kwargs["family"] == family
    assert len(task.solution) >= 2   # at least one tool call before the answer
    check_solved(task)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_tasks_other_seed_other_tasks(family):
  generate = GENERATORS[family].generate_benchmark_tasks
  first = [t.to_json() for t in generate(8, seed=5)]
  assert first == [t.to_json() for t in generate(8, seed=5)]
  other = [t.instruction for t in generate(8, seed=6)]
  assert len(set(t["instruction"] for t in first) & set(other)) <= 1


def test_a_wrong_scripted_answer_is_not_accepted():
  task = GENERATORS["trade_calculator"].generate_benchmark_tasks(1, 0)[0]
  env = envs.make(task.env, **task.env_kwargs)
  env.respond("Answer: " + wrong_answer(task.expected_answer))
  assert not answer_matches(env.answer, task.expected_answer)


def test_mixed_generator_round_robins_families_and_serializes():
  tasks = generate_benchmark_tasks(10, seed=1)
  assert [t.env_kwargs["family"] for t in tasks[:4]] == list(FAMILIES)
  assert len(tasks) == 10
  restored = [BenchmarkTask.from_json(json.loads(json.dumps(t.to_json()))) for t in tasks]
  assert restored == tasks
  only = generate_benchmark_tasks(3, seed=1, family="message_decoder")
  assert {t.env_kwargs["family"] for t in only} == {"message_decoder"}
