"""M3ToolEval-layout task records and the hand-computed verdict table of the two answer checks
(test helper), shared by the check's own test (tests/evaluation/test_answer_checks.py) and the
launch.evaluate one that reaches it through an endpoint agent (tests/launch/).

`strict` is ours (numeric / structural matching); `m3tooleval` is M3ToolEval's `Task.check_answer`
as its code behaves: int() truncation ("68" for 68.71), its literal_eval branch never deciding
(a missing `or`), and a final str() comparison.
"""

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
