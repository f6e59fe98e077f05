"""dataset_info.json of a task dataset: the commit point of a write and the reader's table of contents.

The writer publishes it last, so a directory without it is an unfinished write; shards it does not
list are never read (a crash can leave complete-looking shards behind, never a listed partial one).

    {
      "name": "retail_round1", "version": "1.0.0", "schema_version": 1,
      "description": "...", "provenance": {...},
      "splits": {
        "kept":     {"records": 812, "reasons": {"kept": 812},
                     "shards": [{"file": "kept-00000.array_record", "records": 812}],
                     "jsonl": "kept.jsonl"},
        "rejected": {"records": 9311, "reasons": {"solution_fails": 5000, ...}, "shards": [...],
                     "jsonl": "rejected.jsonl"}
      }
    }
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from etils import epath

INFO_FILE = "dataset_info.json"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")        # usable as a TFDS config name and a file name
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")       # TFDS versions are MAJOR.MINOR.PATCH


class TaskDatasetError(RuntimeError):
  """A task dataset is missing, unfinished, corrupt or unusable."""


class EmptyTaskDatasetError(TaskDatasetError):
  """A task dataset (or the part of it a reader asked for) holds no usable records."""


def check_name(name: str) -> str:
  if not _NAME.match(name):
    raise ValueError(f"task dataset name {name!r} must match {_NAME.pattern}")
  return name


def check_version(version: str) -> str:
  if not _VERSION.match(version):
    raise ValueError(f"task dataset version {version!r} must be MAJOR.MINOR.PATCH, e.g. 1.0.0")
  return version


@dataclasses.dataclass(frozen=True)
class ShardInfo:
  file: str       # relative to the dataset directory
  records: int


@dataclasses.dataclass(frozen=True)
class SplitInfo:
  records: int
  reasons: dict[str, int]
  shards: tuple[ShardInfo, ...]
  jsonl: str | None


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
  name: str
  version: str
  schema_version: int
  splits: dict[str, SplitInfo]
  description: str = ""
  provenance: dict[str, Any] = dataclasses.field(default_factory=dict)

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, data: dict[str, Any]) -> "DatasetInfo":
    splits = {
        name: SplitInfo(records=int(s["records"]), reasons=dict(s["reasons"]),
                        shards=tuple(ShardInfo(**shard) for shard in s["shards"]),
                        jsonl=s.get("jsonl"))
        for name, s in data["splits"].items()}
    return cls(name=data["name"], version=data["version"],
               schema_version=int(data["schema_version"]), splits=splits,
               description=data.get("description", ""), provenance=data.get("provenance", {}))


def load_info(directory: epath.PathLike) -> DatasetInfo:
  """Reads DIRECTORY/dataset_info.json; TaskDatasetError says why a directory is not a dataset."""
  path = epath.Path(directory) / INFO_FILE
  if not path.exists():
    raise TaskDatasetError(f"{epath.Path(directory)} is not a task dataset: no {INFO_FILE} (the "
                           f"directory does not exist or its writer never finished)")
  try:
    return DatasetInfo.from_json(json.loads(path.read_text()))
  except (ValueError, KeyError, TypeError) as e:
    raise TaskDatasetError(f"{path} is not a valid task dataset info file: {e!r}") from e
