"""What the tau-bench style families (retail, airline) share: the database-backed environment,
data loading, the data hash, safe arithmetic and the three domain-free tools.

Tools are plain functions `tool(data, **arguments) -> str` over the JSON database, so the same
function serves an episode (bound to the live data) and a gold replay (bound to a fresh copy).
"""

from __future__ import annotations

import abc

import ast
import functools
import hashlib
import json
import operator
from typing import Any, Callable

from etils import epath

from selfchallenge_jax.envs.base import Environment, ToolError, function_schema
from selfchallenge_jax.envs.simulated_user import STOP_MARKER, ScriptedUser, SimulatedUser, as_user

Data = dict[str, Any]
ToolFn = Callable[..., str]

# Replayed gold actions never include ending the conversation (tau-bench's terminate tools).
TERMINATE_TOOLS = ("transfer_to_human_agents",)


# ---- data -------------------------------------------------------------------------------------
def load_tables(data_dir: str | epath.Path, tables: tuple[str, ...], family: str) -> Data:
  """Reads tau-bench's `<table>.json` files from `data_dir`; raises naming the bad file."""
  root = epath.Path(data_dir)
  data: Data = {}
  for table in tables:
    path = root / f"{table}.json"
    if not path.exists():
      raise FileNotFoundError(
          f"{family} data: missing {path} (expected {', '.join(t + '.json' for t in tables)} "
          f"in {root}, as in tau-bench's tau_bench/envs/{family}/data/)")
    try:
      value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise ValueError(f"{family} data: {path} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
      raise ValueError(f"{family} data: {path} must hold a JSON object keyed by id, "
                       f"got {type(value).__name__}")
    data[table] = value
  return data


@functools.lru_cache(maxsize=8)
def _read_tables_json(data_dir: str, tables: tuple[str, ...], family: str) -> str:
  # Parsed once per directory and kept as text: json.loads of the text is a cheaper deep copy
  # than copy.deepcopy, and every reset needs a fresh, unshared copy.
  return json.dumps(load_tables(data_dir, tables, family))


def load_tables_cached(data_dir: str | epath.Path, tables: tuple[str, ...], family: str) -> str:
  return _read_tables_json(str(data_dir), tables, family)


def data_hash(data: Data) -> str:
  """sha256 of the data with dict keys sorted and list order kept (tau-bench's consistent_hash)."""
  text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
  return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- calculate --------------------------------------------------------------------------------
_ALLOWED_CHARS = set("0123456789+-*/(). ")
_BINARY_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
}
_UNARY_OPS: dict[type, Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _evaluate(node: ast.AST) -> float:
  if isinstance(node, ast.Expression):
    return _evaluate(node.body)
  if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
      and not isinstance(node.value, bool):
    return node.value
  if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPS:
    return _BINARY_OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
  if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPS:
    return _UNARY_OPS[type(node.op)](_evaluate(node.operand))
  # Powers are refused: "9**9**9" would hang the host; nothing in these domains needs them.
  element = node.op if isinstance(node, (ast.BinOp, ast.UnaryOp)) else node
  raise ToolError(f"unsupported expression element {type(element).__name__}")


def calculate(data: Data, expression: str) -> str:
  """Arithmetic on + - * / and parentheses, rounded to 2 decimals; never evaluates code."""
  del data
  if not all(char in _ALLOWED_CHARS for char in expression):
    raise ToolError("invalid characters in expression")
  try:
    tree = ast.parse(expression.strip(), mode="eval")
  except SyntaxError as e:
    raise ToolError(f"invalid syntax: {e.msg}") from e
  try:
    value = _evaluate(tree)
  except ZeroDivisionError as e:
    raise ToolError("division by zero") from e
  return str(round(float(value), 2))


def think(data: Data, thought: str) -> str:
  del data, thought
  return ""


def transfer_to_human_agents(data: Data, summary: str) -> str:
  del data, summary
  return "Transfer successful"


COMMON_TOOL_SCHEMAS = [
    function_schema(
        "calculate", "Evaluate an arithmetic expression and return the result rounded to 2 "
        "decimals. Allowed: numbers, + - * /, parentheses and spaces.",
        {"expression": {"type": "string",
                        "description": "The expression to evaluate, such as '12.5 * 3 - 4'."}}),
    function_schema(
        "think", "Write down a thought. Nothing is looked up and nothing in the database changes; "
        "use it to reason through a complicated step or to keep notes.",
        {"thought": {"type": "string", "description": "The thought."}}),
    function_schema(
        "transfer_to_human_agents", "Hand the conversation over to a human agent, with a summary "
        "of the user's issue. Only when the user explicitly asks for a human, or when the "
        "request cannot be handled with the available tools and the policy.",
        {"summary": {"type": "string", "description": "A summary of the user's issue."}}),
]
COMMON_TOOLS: dict[str, ToolFn] = {
    "calculate": calculate, "think": think, "transfer_to_human_agents": transfer_to_human_agents,
}


# ---- environment ------------------------------------------------------------------------------
class TauEnvironment(Environment):
  """A tau-bench style environment: a JSON database, tools over it, a policy and a simulated user.

  Subclasses set `name`, `TOOLS` (name -> tool function), `TOOL_SCHEMAS`, `POLICY` and
  implement `_initial_data_json(seed, data_dir)`.
  """

  TOOLS: dict[str, ToolFn] = {}
  TOOL_SCHEMAS: list[dict[str, Any]] = []
  POLICY: str = ""

  def __init__(self, seed: int = 0, data_dir: str | None = None,
               user: SimulatedUser | Callable[[list[dict[str, str]]], str] | None = None,
               instruction: str | None = None, max_user_turns: int = 30) -> None:
    super().__init__()
    self.seed = seed
    self.data_dir = data_dir
    self.max_user_turns = max_user_turns
    self._initial_json = self._initial_data_json(seed, data_dir)
    self._gold_cache: dict[str, tuple[Data, str]] = {}
    self._user_arg = user
    self._instruction = instruction
    self.data: Data = {}
    self.user: SimulatedUser = ScriptedUser()
    self.first_message = self.reset()

  # ---- to implement -------------------------------------------------------------------------
  @abc.abstractmethod
  def _initial_data_json(self, seed: int, data_dir: str | None) -> str:
    """The family's initial database as JSON text (generated from `seed`, or read from data_dir)."""

  # ---- contract -----------------------------------------------------------------------------
  @property
  def tools(self) -> list[dict[str, Any]]:
    return self.TOOL_SCHEMAS

  @property
  def system_prompt(self) -> str:
    return self.POLICY

  def reset(self, seed: int | None = None, **kwargs: Any) -> str:
    """Restores the initial database and starts a new conversation.

    kwargs: `task` (a BenchmarkTask: its instruction drives a scripted user that stops once the
    database matches the task's gold outcome), `instruction`, `user`.
    """
    if seed is not None and seed != self.seed and self.data_dir is None:
      self.seed = seed
      self._initial_json = self._initial_data_json(seed, None)
      self._gold_cache.clear()
    self.data = self.fresh_data()
    self.done, self.answer, self.actions = False, None, []
    task = kwargs.get("task")
    instruction = kwargs.get("instruction", task.instruction if task else self._instruction)
    user = kwargs.get("user", self._user_arg)
    if user is None:
      goal = self._goal_for(task) if task is not None else None
      user = ScriptedUser(instruction or "", goal=goal, max_turns=self.max_user_turns)
    self.user = as_user(user)
    return self.user.reset(instruction or "")

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    functions = {name: functools.partial(fn, self.data) for name, fn in self.TOOLS.items()}
    functions["transfer_to_human_agents"] = self._transfer
    return functions

  def state(self) -> Data:
    return json.loads(json.dumps(self.data))

  def _on_respond(self, content: str) -> str:
    self.answer = content
    reply = self.user.step(content)
    if STOP_MARKER in reply:
      self.done = True
    return reply

  # ---- helpers ------------------------------------------------------------------------------
  def fresh_data(self) -> Data:
    """A new, unshared copy of the initial database."""
    return json.loads(self._initial_json)

  def replay(self, actions: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> Data:
    """The database after applying `actions` ({"name", "arguments"|"kwargs"}) to a fresh copy.

    Like tau-bench's gold replay: invalid actions leave the data unchanged, `respond` and
    terminate tools are skipped. The episode's own data and action log are untouched.
    """
    data = self.fresh_data()
    for action in actions:
      name = action["name"]
      if name == "respond" or name in TERMINATE_TOOLS or name not in self.TOOLS:
        continue
      arguments = action.get("arguments", action.get("kwargs")) or {}
      try:
        self.TOOLS[name](data, **json.loads(json.dumps(arguments)))
      except (ToolError, TypeError, ValueError, KeyError, IndexError, ArithmeticError):
        pass
    return data

  def gold(self, actions: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> tuple[Data, str]:
    """(replayed data, its hash) for gold actions, cached per initial database; do not mutate."""
    key = json.dumps(list(actions), sort_keys=True)
    if key not in self._gold_cache:
      if len(self._gold_cache) >= 16:
        self._gold_cache.clear()
      replayed = self.replay(actions)
      self._gold_cache[key] = (replayed, data_hash(replayed))
    return self._gold_cache[key]

  def _transfer(self, summary: str) -> str:
    result = transfer_to_human_agents(self.data, summary)
    self.done = True
    return result

  def _goal_for(self, task: Any) -> Callable[[list[str]], bool]:
    """The scripted user's stop condition for a task: gold database reached and outputs said."""
    gold_data, _ = self.gold(task.gold_actions)
    outputs = [o.lower() for o in task.required_outputs]

    def reached(agent_messages: list[str]) -> bool:
      said = [m.lower().replace(",", "") for m in agent_messages]
      # Dict equality, not the hash: it runs after every agent message and is ~10x cheaper.
      return self.data == gold_data and all(any(o in m for m in said) for o in outputs)

    return reached
