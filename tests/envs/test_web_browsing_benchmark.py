"""Generated web-browsing benchmark tasks: solved by browsing, deterministic, seed-dependent."""

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.calculation.benchmarks import replay
from selfchallenge_jax.envs.web_browsing import answer_matches, generate_benchmark_tasks
from selfchallenge_jax.envs.web_browsing.site_generator import generate_site


@pytest.mark.parametrize("seed", [0, 77])
def test_generated_tasks_are_solved_by_their_solution(seed):
  tasks = generate_benchmark_tasks(18, seed)
  assert len({t.task_id for t in tasks}) == 18
  for task in tasks:
    env = envs.make(task.env, **task.env_kwargs)
    env.reset(instruction=task.instruction)
    outputs = replay(env, task)
    assert not any(o.startswith("Error:") for o in outputs), outputs
    assert env.done and answer_matches(env.answer, task.expected_answer)
    assert not answer_matches("Answer: " + task.expected_answer + "1", task.expected_answer)
    tools_used = {s["name"] for s in task.solution}
    assert "click_url" in tools_used   # every fact lives below the home page


def test_prices_come_from_the_site():
  site = generate_site(0)
  price_tasks = [t for t in generate_benchmark_tasks(13, 0)
                 if t.task_id.startswith("web_browsing/price/")]
  assert len(price_tasks) == 3
  for task in price_tasks:
    item = next(i for i in site.items if f" {i.name}." in task.instruction)
    assert task.expected_answer == f"{item.price:.2f}"


def test_discounted_total_uses_the_calculator():
  task = generate_benchmark_tasks(4, 0)[3]
  assert "10% off" in task.instruction
  (calc,) = [s for s in task.solution if s["name"] == "calculator"]
  assert calc["arguments"]["expression"].endswith("* 0.9")


def test_deterministic_and_seed_dependent():
  assert [t.to_json() for t in generate_benchmark_tasks(6, 3)] == [
      t.to_json() for t in generate_benchmark_tasks(6, 3)]
  a = {t.instruction for t in generate_benchmark_tasks(6, 3)}
  b = {t.instruction for t in generate_benchmark_tasks(6, 4)}
  assert len(a & b) <= 1
