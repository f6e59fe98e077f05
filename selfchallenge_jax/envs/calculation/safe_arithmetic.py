"""A safe arithmetic evaluator for the `calculator` tool.

M3ToolEval's calculator is Python `eval` of the model's text; running model text through `eval` would
hand the agent the host. This evaluator walks the parsed expression and accepts only what a calculator
needs: int/float literals, + - * / // % **, unary + and -, parentheses, and the builtins abs, round,
min, max, sum, pow, int, float applied to numbers (min/max/sum also to a list or tuple of numbers).
On such input it computes with the same Python operations in the same order, so results (and their
`str`) are identical to M3ToolEval's. Everything else - names, attributes, strings, subscripts,
comprehensions, lambdas, other calls - raises ExpressionError, as do results that would be too large
to compute quickly (9 ** 9 ** 9) and complex results.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable

Number = int | float

#: Longer input is refused before parsing: it bounds parse time and the recursion depth below.
MAX_EXPRESSION_CHARS = 1000
#: Integer results beyond this many bits are refused before they are computed (9 ** 9 ** 9 would
#: otherwise take minutes and gigabytes).
MAX_INT_BITS = 4096


class ExpressionError(ValueError):
  """The expression is not plain arithmetic, or evaluating it failed."""


_BINARY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def evaluate(expression: str) -> Number:
  """Evaluates an arithmetic expression; raises ExpressionError if it is not one or fails."""
  if not isinstance(expression, str):
    raise ExpressionError("the expression must be a string")
  text = expression.strip()   # eval ignores surrounding blanks; ast.parse would reject an indent
  if len(text) > MAX_EXPRESSION_CHARS:
    raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
  try:
    tree = ast.parse(text, mode="eval")
  except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
    raise ExpressionError(f"invalid syntax ({type(e).__name__})") from None
  try:
    result = _eval(tree.body)
  except RecursionError:
    raise ExpressionError("expression nested too deeply") from None
  except ZeroDivisionError:
    raise ExpressionError("division by zero") from None
  except OverflowError:
    raise ExpressionError("numerical result out of range") from None
  except (TypeError, ValueError) as e:   # e.g. sum(1), max([]), round(1, 2, 3)
    if isinstance(e, ExpressionError):
      raise
    raise ExpressionError(str(e)) from None
  return _check_number(result)


def _check_number(value: Any) -> Number:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise ExpressionError(f"result is a {type(value).__name__}, not a real number")
  if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
    raise ExpressionError("integer result too large")
  return value


def _eval(node: ast.AST) -> Any:
  if isinstance(node, ast.Constant):
    return _check_number(node.value)
  if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
    return _UNARY_OPS[type(node.op)](_check_number(_eval(node.operand)))
  if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
    left = _check_number(_eval(node.left))
    right = _check_number(_eval(node.right))
    _check_size(type(node.op), left, right)
    return _check_number(_BINARY_OPS[type(node.op)](left, right))
  if isinstance(node, ast.Call):
    return _eval_call(node)
  raise ExpressionError(f"{type(node).__name__} is not allowed; only arithmetic on numbers")


def _check_size(op: type, left: Number, right: Number) -> None:
  """Refuses int results that would exceed MAX_INT_BITS, before computing them."""
  if not (isinstance(left, int) and isinstance(right, int)):
    return   # float overflow raises OverflowError by itself
  if op is ast.Pow and right > 0 and abs(left) > 1:
    if (abs(left).bit_length() - 1) * right > MAX_INT_BITS:
      raise ExpressionError("integer result too large")
  if op is ast.Mult and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
    raise ExpressionError("integer result too large")


def _numbers(values: list[Any]) -> list[Number]:
  return [_check_number(v) for v in values]


def _eval_call(node: ast.Call) -> Any:
  if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
    name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
    raise ExpressionError(f"call of {name!r} is not allowed; allowed: {', '.join(_FUNCTIONS)}")
  if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
    raise ExpressionError(f"{node.func.id}() takes positional arguments only")
  args = []
  for arg in node.args:
    if isinstance(arg, (ast.List, ast.Tuple)) and node.func.id in ("min", "max", "sum"):
      args.append(_numbers([_eval(e) for e in arg.elts]))
    else:
      args.append(_check_number(_eval(arg)))
  return _FUNCTIONS[node.func.id](*args)


def _pow(*args: Number) -> Number:
  if len(args) == 2:
    _check_size(ast.Pow, args[0], args[1])
  return pow(*args)


def _to_int(value: Number) -> int:
  if isinstance(value, float) and not math.isfinite(value):
    raise ExpressionError("cannot convert a non-finite float to int")
  return int(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "round": round, "min": min, "max": max, "sum": sum, "pow": _pow,
    "int": _to_int, "float": float,
}
