"""The two answer checks on M3ToolEval-layout files: per-task verdicts against a hand-computed table
(tests/m3_answer_table.py; tests/launch/test_evaluate_endpoint_agent.py checks the same table
through launch.evaluate).

`strict` is ours (numeric / structural matching); `m3tooleval` is M3ToolEval's `Task.check_answer`
as its code behaves: int() truncation ("68" for 68.71), its literal_eval branch never deciding
(a missing `or`), and a final str() comparison.
"""

import json
import types

import pytest

from selfchallenge_jax.envs.calculation.answer_match import answer_check
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.evaluation.task_sets import load_benchmark

from m3_answer_table import RECORDS, TABLE


@pytest.fixture
def tasks(tmp_path):
  (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
  loaded = load_benchmark(f"m3tooleval:{tmp_path}")
  return {t.task_id: t for ts in loaded.values() for t in ts}


@pytest.mark.parametrize("task_id,answer,strict,m3", TABLE)
def test_verdicts_match_the_hand_computed_table(tasks, task_id, answer, strict, m3):
  episode = types.SimpleNamespace(answer=answer, final_state={}, actions=[])
  assert score_episode(tasks[task_id], episode, "strict") == float(strict)
  assert score_episode(tasks[task_id], episode, "m3tooleval") == float(m3)


def test_no_answer_scores_zero_and_unknown_check_is_refused(tasks):
  episode = types.SimpleNamespace(answer=None, final_state={}, actions=[])
  assert score_episode(tasks["message_decoder/c"], episode, "m3tooleval") == 0.0
  with pytest.raises(ValueError, match="answer check 'loose'"):
    answer_check("loose")
