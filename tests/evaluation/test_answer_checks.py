"""The two answer checks on M3ToolEval-layout files: per-task verdicts against a hand-computed table.

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

RECORDS = [
    {"name": "trade_calculator/a", "instruction": "Value?", "expected_output": 68.71},
    {"name": "trade_calculator/b", "instruction": "Values?", "expected_output": [77040, 96300]},
    {"name": "message_decoder/c", "instruction": "Decode.", "expected_output": "Hello"},
    {"name": "trade_calculator/d", "instruction": "Count?", "expected_output": 14},
    {"name": "cryptobotanists_plant_dna_sequencer/e", "instruction": "Counts?",
     "expected_output": {"A": 2, "C": 1}},
    {"name": "message_decoder/f", "instruction": "Decode.", "expected_output": "123"},
    {"name": "message_decoder/g", "instruction": "Decode.", "expected_output": "[1, 2]"},
    {"name": "message_decoder/h", "instruction": "Decode.", "expected_output": "12.5"},
]

# (task, final answer text) -> (strict verdict, m3tooleval verdict), worked out by hand from each
# check's rules (see the module docstring).
TABLE = [
    ("trade_calculator/a", "Answer: 68.71", True, True),
    ("trade_calculator/a", "Answer: 68", False, True),            # int(68.71) == 68
    ("trade_calculator/a", "Answer: 68.710", True, True),         # literal_eval, then str()
    ("trade_calculator/a", "Answer: 68.71000000000001", True, False),   # round-off: str differs
    ("trade_calculator/a", "Answer: 69", False, False),
    ("trade_calculator/b", "Answer: [77040, 96300]", True, True),
    ("trade_calculator/b", "Answer: [77040,96300]", True, False),   # int([...]) raises first
    ("trade_calculator/b", "Answer: (77040, 96300)", True, False),
    ("trade_calculator/b", "Answer: [77040, 96301]", False, False),
    ("message_decoder/c", "Answer: Hello", True, True),
    ("message_decoder/c", "Answer: 'Hello'", True, True),         # literal_eval, then str()
    ("message_decoder/c", "Answer: hello", False, False),
    ("trade_calculator/d", "Answer: 14.0", True, True),
    ("trade_calculator/d", "Answer: 14.9", False, False),         # float("14.9") != 14
    ("cryptobotanists_plant_dna_sequencer/e", "Answer: {'A': 2, 'C': 1}", True, True),
    ("cryptobotanists_plant_dna_sequencer/e", "Answer: {'C': 1, 'A': 2}", True, False),
    ("message_decoder/f", "Answer: 123", True, True),
    ("message_decoder/f", "Answer: 123.0", True, True),           # float("123.0") == int("123")
    # Typed strings stay strings for M3ToolEval's check (its expected value is a str there).
    ("message_decoder/g", "Answer: [1,2]", True, True),           # literal_eval, then str()
    ("message_decoder/h", "Answer: 12", False, False),            # "12.5" is not int()-able
]


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
