"""The record a task dataset stores: a CaT task with its filter decision and provenance.

One record is one JSON object (the ArrayRecord payload and the JSONL line are the same bytes):

    {
      "schema_version": 1,
      "task": {...CodeAsTask.to_json()...} | null,   # null only for a rejected, unparseable task
      "raw": "...",                                  # the unparseable text; present only then
      "keep": true,
      "reason": "kept",                              # a check.Reason value
      "detail": "",                                  # check.CheckResult.detail
      "provenance": {"run": "...", "round": 3}       # who wrote it and when (writer + caller)
    }

`decode` validates all of it and raises TaskFormatError naming what is wrong, so readers can skip
and count bad records instead of crashing on them or passing them to training.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any, Mapping

from selfchallenge_jax.tasks.check import CheckResult, Reason
from selfchallenge_jax.tasks.record import CodeAsTask, TaskFormatError

SCHEMA_VERSION = 1
KEPT_SPLIT = "kept"
REJECTED_SPLIT = "rejected"
SPLITS = (KEPT_SPLIT, REJECTED_SPLIT)
_KEYS = {"schema_version", "task", "raw", "keep", "reason", "detail", "provenance"}
_REASONS = frozenset(r.value for r in Reason)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskRecord:
  task: CodeAsTask | None
  keep: bool
  reason: str
  detail: str = ""
  provenance: dict[str, Any] = dataclasses.field(default_factory=dict)
  raw: str | None = None

  def __post_init__(self) -> None:
    # Validate on construction too, so the writer can never store what the reader would reject.
    _check_decision(self.keep, self.reason, self.task is not None)

  @property
  def split(self) -> str:
    return KEPT_SPLIT if self.keep else REJECTED_SPLIT

  @classmethod
  def from_check(cls, result: CheckResult, *, raw: str | None = None,
                 provenance: Mapping[str, Any] | None = None) -> "TaskRecord":
    """`raw` is the original text of an unparseable task (result.task is None then)."""
    return cls(task=result.task, keep=result.keep, reason=Reason(result.reason).value,
               detail=result.detail, provenance=dict(provenance or {}),
               raw=raw if result.task is None else None)

  def to_json(self) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "task": self.task.to_json() if self.task is not None else None,
        "keep": self.keep, "reason": self.reason, "detail": self.detail,
        "provenance": copy.deepcopy(self.provenance),
    }
    if self.task is None:
      data["raw"] = self.raw if self.raw is not None else ""
    return data

  def encode(self) -> bytes:
    return json.dumps(self.to_json(), sort_keys=True).encode("utf-8")


def decode(data: bytes | str) -> TaskRecord:
  """Parses and validates one stored record; raises TaskFormatError on anything unexpected."""
  try:
    obj = json.loads(data)
  except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
    raise TaskFormatError(f"stored task record is not valid JSON: {e}") from e
  if not isinstance(obj, dict):
    raise TaskFormatError(f"stored task record must be a JSON object, got {type(obj).__name__}")
  version = obj.get("schema_version")
  if version != SCHEMA_VERSION:
    raise TaskFormatError(f"stored task record has schema_version {version!r}; this reader "
                          f"understands {SCHEMA_VERSION}")
  unknown = sorted(set(obj) - _KEYS)
  if unknown:
    raise TaskFormatError(f"stored task record has unknown field(s) {unknown}")
  for key, kind in (("keep", bool), ("reason", str), ("detail", str), ("provenance", dict)):
    if not isinstance(obj.get(key), kind):
      raise TaskFormatError(f"stored task record field {key!r} must be {kind.__name__}, got "
                            f"{type(obj.get(key)).__name__}")
  task = None if obj.get("task") is None else CodeAsTask.from_json(obj["task"])
  raw = obj.get("raw")
  if raw is not None and not isinstance(raw, str):
    raise TaskFormatError(f"stored task record field 'raw' must be str, got {type(raw).__name__}")
  _check_decision(obj["keep"], obj["reason"], task is not None)
  return TaskRecord(task=task, keep=obj["keep"], reason=obj["reason"], detail=obj["detail"],
                    provenance=obj["provenance"], raw=raw if task is None else None)


def _check_decision(keep: bool, reason: str, has_task: bool) -> None:
  if reason not in _REASONS:
    raise TaskFormatError(f"stored task record has unknown reason {reason!r}; known: "
                          f"{sorted(_REASONS)}")
  if keep != (reason == Reason.KEPT.value):
    raise TaskFormatError(f"stored task record says keep={keep} with reason {reason!r}")
  if keep and not has_task:
    raise TaskFormatError("stored task record is kept but has no task")
