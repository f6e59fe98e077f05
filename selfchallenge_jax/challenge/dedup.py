"""Near-duplicate removal: a task's key is a hash of its environment name, its normalized
instruction and its normalized verifier, so re-wordings in case, spacing, punctuation, comments or
formatting of the same task collapse to one key.

Digits are kept on purpose: "cancel order #W123" and "cancel order #W456" are different tasks.
env_kwargs are left out: most calculation instances do not depend on the seed at all, and where
the instance does (a generated site, travel tables) the verifier embeds the expected value, so the
same instruction with the same verifier asks for the same thing.
The first task seen with a key wins; `Deduplicator` can be seeded with the keys of earlier rounds.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from typing import Iterable

from selfchallenge_jax.tasks.record import CodeAsTask

_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")
_COMMENT = re.compile(r"#[^\n]*")


def normalize_instruction(text: str) -> str:
  return _SPACE.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def normalize_verifier(source: str) -> str:
  """ast.dump without docstrings when the code parses (comments and layout vanish); else the
  text without comments and whitespace."""
  try:
    tree = ast.parse(source)
  except (SyntaxError, ValueError, RecursionError, MemoryError):
    return _SPACE.sub("", _COMMENT.sub("", source))
  for node in ast.walk(tree):
    body = getattr(node, "body", None)
    if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)):
      node.body = body[1:] or [ast.Pass()]
  try:
    return ast.dump(tree, annotate_fields=False)
  except RecursionError:
    return _SPACE.sub("", _COMMENT.sub("", source))


def dedup_key(task: CodeAsTask) -> str:
  blob = json.dumps([task.env, normalize_instruction(task.instruction),
                     normalize_verifier(task.verifier)], sort_keys=True, default=str)
  return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Deduplicator:
  """Remembers keys; `first_seen(task)` is None for a new task, else the id of its earlier copy."""

  def __init__(self, known: Iterable[CodeAsTask] = ()) -> None:
    self._seen: dict[str, str] = {}
    self.duplicates = 0
    for task in known:
      self._seen.setdefault(dedup_key(task), task.task_id)

  def first_seen(self, task: CodeAsTask) -> str | None:
    key = dedup_key(task)
    if key in self._seen:
      self.duplicates += 1
      return self._seen[key]
    self._seen[key] = task.task_id
    return None

  def __len__(self) -> int:
    return len(self._seen)
