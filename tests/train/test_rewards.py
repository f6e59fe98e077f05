"""The reward stage: verification as episodes end, results in order, errors surfaced."""

import threading
import time

import pytest

from selfchallenge_jax.rollout.episode import Episode
from selfchallenge_jax.sandbox.pool import SandboxPool
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.train.rewards import RewardStage

VERIFIER = """
def verify(state, answer, messages):
    return answer == "yes" and state["n"] >= 0
"""


def _task(i):
  return CodeAsTask(task_id=f"t{i}", env="echo", env_kwargs={"seed": i}, instruction="Reply.",
                    verifier=VERIFIER,
                    solution=({"name": "respond", "arguments": {"content": "yes"}},),
                    failure_cases=(({"name": "respond", "arguments": {"content": "no"}},),))


def _episode(answer, n=0):
  return Episode(tag=None, tokens=[], loss_mask=[], logprobs=[], turns=[], end_reason="env_done",
                 answer=answer, final_state={"n": n}, actions=[])


@pytest.fixture(scope="module")
def pool():
  with SandboxPool(2) as p:
    yield p


def test_out_of_order_episodes_come_back_in_batch_order(pool):
  stage = RewardStage(pool, threads=8)
  answers = ["yes", "no", "yes", "yes", "no", "no"]
  batch = stage.start([_task(i) for i in range(len(answers))])

  def post():            # episodes end in reverse order, while the caller is already waiting
    for i in reversed(range(len(answers))):
      time.sleep(0.01)
      batch.submit(i, _episode(answers[i]))
  threading.Thread(target=post).start()
  result = stage.collect(batch)
  assert result.rewards.tolist() == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
  assert result.verdicts == ["passed", "failed", "passed", "passed", "failed", "failed"]
  assert result.busy_s > 0
  # Episodes arrived 10 ms apart: the verifications span at least the 50 ms between first and last.
  assert result.span_s >= 0.05
  assert 0.0 <= result.hidden_frac <= 1.0
  stage.close()


def test_next_batch_is_verified_before_the_previous_is_collected(pool):
  stage = RewardStage(pool, threads=8)
  first = stage.start([_task(0), _task(1)])
  second = stage.start([_task(2), _task(3)])
  second.submit(1, _episode("yes"))
  second.submit(0, _episode("no"))
  first.submit(0, _episode("no"))
  first.submit(1, _episode("yes"))
  with pytest.raises(RuntimeError, match="collected in order"):
    stage.collect(second)
  assert stage.collect(first).rewards.tolist() == [0.0, 1.0]
  time.sleep(0.5)                 # the second batch was verified meanwhile: no wait left
  result = stage.collect(second)
  assert result.rewards.tolist() == [0.0, 1.0] and result.waited_s < 0.1
  stage.close()


def test_scoring_error_surfaces_and_the_stage_goes_on(pool):
  stage = RewardStage(pool, threads=4)
  bad = stage.start(["not a task"])
  bad.submit(0, _episode("yes"))
  with pytest.raises(RuntimeError, match="cannot reward a str"):
    stage.collect(bad)
  good = stage.start([_task(0)])
  good.submit(0, _episode("yes"))
  assert stage.collect(good).rewards.tolist() == [1.0]
  with pytest.raises(IndexError):
    good.submit(1, _episode("yes"))
  stage.close()


def test_close_unblocks_a_waiting_collect(pool):
  stage = RewardStage(pool, threads=4)
  batch = stage.start([_task(0)])
  threading.Timer(0.2, stage.close).start()
  with pytest.raises(RuntimeError, match="closed"):
    stage.collect(batch)


def test_an_unclosed_stage_does_not_hang_interpreter_exit():
  import subprocess
  import sys
  code = ("from selfchallenge_jax.train.rewards import RewardStage\n"
          "s = RewardStage(None, threads=4)\ns.start(['x'])\nprint('bye')\n")
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert r.returncode == 0 and "bye" in r.stdout, r.stderr[-2000:]


def test_an_episode_submitted_twice_or_after_close_is_refused(pool):
  stage = RewardStage(pool, threads=2)
  batch = stage.start([_task(0), _task(1)])
  batch.submit(0, _episode("yes"))
  with pytest.raises(ValueError, match="already submitted"):
    batch.submit(0, _episode("no"))
  stage.close()
  with pytest.raises(RuntimeError, match="closed"):
    batch.submit(1, _episode("yes"))
