"""The calculator's safe evaluator: Python's results on arithmetic, refusal of everything else."""

import pytest

from selfchallenge_jax.envs.calculation.safe_arithmetic import ExpressionError, evaluate

VALID = [
    "2 + (3 * 4)", "10 / 4", "7 // 2", "-7 % 3", "2 ** 10", "2 ** -2", "-(3 - 5)", "+4",
    "1.5 * 3", "0.1 + 0.2", "1e3 * 2", "100 * 50 * 1.5 * 1.08", "(68.71 + 105.52 + 90.15) * 0.9",
    "abs(-3.5)", "round(2.675, 2)", "round(7.5)", "min(3, 1, 2)", "max([1, 5, 3])",
    "sum([1, 2, 3.5])", "sum((1, 2), 10)", "pow(2, 8)", "pow(3, 4, 5)", "int(7.9)", "float(3)",
    "  1 + 1  ", "1_000 + 1", "8100.000000000001 - 0.000000000001",
]


@pytest.mark.parametrize("expression", VALID)
def test_matches_python_eval(expression):
  # M3ToolEval's calculator is eval(expression); the observation is str() of the result.
  expected = eval(expression.strip())
  result = evaluate(expression)
  assert type(result) is type(expected)
  assert str(result) == str(expected)


@pytest.mark.parametrize("expression", [
    "__import__('os')", "__import__('os').system('echo hi')", "os.system('ls')",
    "().__class__.__bases__", "open('/etc/passwd')", "eval('1')", "exec('x=1')", "x + 1",
    "'a' * 3", "[1, 2]", "(1, 2)", "{1: 2}", "lambda: 1", "[i for i in range(3)]", "1 if 1 else 2",
    "1 < 2", "True + 1", "1j * 2", "(-8) ** 0.5", "9 ** 9 ** 9", "10 ** 100000", "2 ** 5000",
    "(10 ** 1000) * (10 ** 1000)", "1 / 0", "1 // 0", "5 % 0", "1e308 * 10 ** 400",
    "1 << 100000", "max()", "sum(1)", "round(1, 2, 3)", "round(x=1)", "int(1e400)", "", "1 +",
    "1" + " + 1" * 600, "(" * 300 + "1" + ")" * 300, "abs(*[1])",
])
def test_refuses_non_arithmetic_and_runaway_input(expression):
  with pytest.raises(ExpressionError):
    evaluate(expression)


def test_refuses_non_string():
  with pytest.raises(ExpressionError):
    evaluate(42)  # type: ignore[arg-type]


def test_big_but_bounded_integers_still_work():
  assert evaluate("2 ** 4000") == 2 ** 4000
  assert evaluate("pow(2, 10 ** 9, 7)") == pow(2, 10 ** 9, 7)
