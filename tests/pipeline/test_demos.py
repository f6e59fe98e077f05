"""Executor demos spread over task seeds: several environment instances (web sites), not one."""

import pytest

from selfchallenge_jax.pipeline import demos as demo_lib


def test_demos_spread_over_task_seeds():
  spread = demo_lib.executor_demos(["web_browsing"], 7, 10, num_seeds=3)
  parts = [demo_lib.executor_demos(["web_browsing"], n, s) for n, s in ((3, 10), (2, 11), (2, 12))]
  assert [d.messages for d in spread] == [d.messages for part in parts for d in part]
  # Each seed is its own site: the home page the first `view` returns differs.
  homes = {part[0].messages[3]["content"] for part in parts}
  assert all(part[0].messages[2]["tool_calls"][0]["function"]["name"] == "view" for part in parts)
  assert len(homes) == 3


def test_fewer_tasks_than_seeds_and_bad_num_seeds():
  few = demo_lib.executor_demos(["web_browsing"], 2, 10, num_seeds=8)
  assert [d.messages for d in few] == [
      d.messages for s in (10, 11) for d in demo_lib.executor_demos(["web_browsing"], 1, s)]
  with pytest.raises(ValueError, match="num_seeds must be >= 1"):
    demo_lib.executor_demos(["calculation"], 2, 0, num_seeds=0)
