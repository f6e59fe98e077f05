"""Writes filtered CaT tasks as a task dataset: ArrayRecord shards + JSONL + dataset_info.json.

    with TaskDatasetWriter(workdir / "tasks" / "retail_r1", name="retail_r1",
                           provenance={"model": "llama-3.1-8b", "round": 1}) as writer:
      for result, text in zip(check_tasks(texts, pool), texts):
        writer.write_result(result, raw=text)

Layout (see dataset_info.py): `kept-00000.array_record`, ..., `kept.jsonl`, `rejected-...`,
`rejected.jsonl`, `dataset_info.json`. The directory may be local or gs:// (etils.epath).

Atomicity: every file is first written under a temporary name and published under its final name
when complete, and dataset_info.json, which lists the shards, is published last. A crash therefore
leaves either no info file (readers refuse the directory) or a complete dataset; never a listed half
shard. Locally, publishing is a rename. ArrayRecord writes local files only (C++ Riegeli file I/O),
so a remote dataset is staged in a local temp dir and each file is uploaded under its final name:
a GCS object becomes visible only once its upload completes, while a GCS "rename" is a copy plus a
delete, no more atomic than the upload.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
import uuid
from typing import Any, Iterable, Mapping

from absl import logging
from array_record.python.array_record_module import ArrayRecordWriter
from etils import epath

from selfchallenge_jax.io.local_copies import is_remote
from selfchallenge_jax.tasks.check import CheckResult
from selfchallenge_jax.tasks.dataset_info import (INFO_FILE, DatasetInfo, ShardInfo, SplitInfo,
                                                  check_name, check_version)
from selfchallenge_jax.tasks.stored_record import SCHEMA_VERSION, SPLITS, TaskRecord

# group_size:1 makes every record its own chunk, so random access reads one record, not a group.
_WRITER_OPTIONS = "group_size:1"


class TaskDatasetWriter:
  """Streams TaskRecords into shards of `records_per_shard`; close() publishes the dataset."""

  def __init__(self, directory: epath.PathLike, *, name: str, version: str = "1.0.0",
               description: str = "", provenance: Mapping[str, Any] | None = None,
               records_per_shard: int = 1024, overwrite: bool = False):
    if records_per_shard < 1:
      raise ValueError(f"records_per_shard must be >= 1, got {records_per_shard}")
    self.directory = epath.Path(directory)
    self.name, self.version = check_name(name), check_version(version)
    self.description = description
    self.provenance = dict(provenance or {})
    self.records_per_shard = records_per_shard
    if (self.directory / INFO_FILE).exists() and not overwrite:
      raise FileExistsError(f"{self.directory} already holds a task dataset; pass overwrite=True "
                            f"or choose a new directory (datasets are immutable once written)")
    # Unpublish an overwritten dataset first: its shards are about to be replaced, and an info file
    # still listing them must not survive a crash in the middle of the new write.
    (self.directory / INFO_FILE).unlink(missing_ok=True)
    self.directory.mkdir(parents=True, exist_ok=True)
    # Staging happens next to the target when it is local (so rename is atomic), else in /tmp.
    self._staging = (epath.Path(tempfile.mkdtemp(prefix="task_dataset_"))
                     if is_remote(self.directory) else self.directory)
    self._pending: dict[str, list[bytes]] = {split: [] for split in SPLITS}
    self._shards: dict[str, list[ShardInfo]] = {split: [] for split in SPLITS}
    self._reasons: dict[str, collections.Counter] = {split: collections.Counter()
                                                     for split in SPLITS}
    self._jsonl = {split: self._staged(f"{split}.jsonl") for split in SPLITS}
    self._jsonl_files = {split: open(path, "w", encoding="utf-8")
                         for split, path in self._jsonl.items()}
    self._closed = False
    self.info: DatasetInfo | None = None    # set by close()

  # ---- writing --------------------------------------------------------------------------------
  def write(self, record: TaskRecord) -> None:
    if self._closed:
      raise RuntimeError(f"TaskDatasetWriter for {self.directory} is closed")
    if self.provenance:
      # Writer-level provenance (run, model, round) is the default; the record's own entries win.
      record = TaskRecord(task=record.task, keep=record.keep, reason=record.reason,
                          detail=record.detail, provenance={**self.provenance, **record.provenance},
                          raw=record.raw)
    data = record.encode()
    split = record.split
    self._jsonl_files[split].write(data.decode("utf-8") + "\n")
    self._reasons[split][record.reason] += 1
    self._pending[split].append(data)
    if len(self._pending[split]) >= self.records_per_shard:
      self._flush(split)

  def write_result(self, result: CheckResult, *, raw: str | None = None,
                   provenance: Mapping[str, Any] | None = None) -> None:
    """Stores a check_task decision; `raw` keeps the text of a task that did not parse."""
    self.write(TaskRecord.from_check(result, raw=raw, provenance=provenance))

  def write_all(self, records: Iterable[TaskRecord | CheckResult]) -> None:
    for record in records:
      if isinstance(record, CheckResult):
        self.write_result(record)
      else:
        self.write(record)

  def _flush(self, split: str) -> None:
    records = self._pending[split]
    if not records:
      return
    file = f"{split}-{len(self._shards[split]):05d}.array_record"
    staged = self._staged(file)
    writer = ArrayRecordWriter(os.fspath(staged), _WRITER_OPTIONS)
    try:
      for data in records:
        writer.write(data)
    finally:
      writer.close()
    self._publish(staged, file)
    self._shards[split].append(ShardInfo(file=file, records=len(records)))
    self._pending[split] = []

  # ---- publishing -----------------------------------------------------------------------------
  def _staged(self, file: str) -> epath.Path:
    return self._staging / f".tmp-{uuid.uuid4().hex[:12]}-{file}"

  def _publish(self, staged: epath.Path, file: str) -> None:
    target = self.directory / file
    if self._staging == self.directory:
      os.replace(staged, target)     # atomic within one local filesystem
      return
    staged.copy(target, overwrite=True)     # an object appears only once its upload completes
    staged.unlink()

  def close(self) -> DatasetInfo:
    """Flushes the last shards, publishes JSONL files and then dataset_info.json."""
    if self._closed:
      raise RuntimeError(f"TaskDatasetWriter for {self.directory} is already closed")
    self._closed = True
    splits = {}
    for split in SPLITS:
      self._flush(split)
      self._jsonl_files[split].close()
      self._publish(self._jsonl[split], f"{split}.jsonl")
      splits[split] = SplitInfo(records=sum(s.records for s in self._shards[split]),
                                reasons=dict(sorted(self._reasons[split].items())),
                                shards=tuple(self._shards[split]), jsonl=f"{split}.jsonl")
    info = DatasetInfo(name=self.name, version=self.version, schema_version=SCHEMA_VERSION,
                       splits=splits, description=self.description, provenance=self.provenance)
    staged = self._staged(INFO_FILE)
    staged.write_text(json.dumps(info.to_json(), indent=2, sort_keys=True))
    self._publish(staged, INFO_FILE)
    self.info = info
    if self._staging != self.directory:
      self._staging.rmtree(missing_ok=True)
    logging.info("task dataset %s %s written to %s: %s", self.name, self.version, self.directory,
                 {split: info.splits[split].reasons for split in SPLITS})
    return info

  def abort(self) -> None:
    """Drops everything not yet published; the directory stays without dataset_info.json."""
    self._closed = True
    for split in SPLITS:
      self._jsonl_files[split].close()
      self._jsonl[split].unlink(missing_ok=True)
    if self._staging != self.directory:
      self._staging.rmtree(missing_ok=True)

  def __enter__(self) -> "TaskDatasetWriter":
    return self

  def __exit__(self, exc_type: Any, *exc: Any) -> None:
    if self._closed:
      return
    if exc_type is None:
      self.close()
    else:
      self.abort()    # an exception mid-write must not publish a dataset missing records


def write_task_dataset(directory: epath.PathLike, records: Iterable[TaskRecord | CheckResult], *,
                       name: str, version: str = "1.0.0", description: str = "",
                       provenance: Mapping[str, Any] | None = None,
                       records_per_shard: int = 1024, overwrite: bool = False) -> DatasetInfo:
  """Writes all `records` (TaskRecords or CheckResults) as one dataset; returns its info."""
  writer = TaskDatasetWriter(directory, name=name, version=version, description=description,
                             provenance=provenance, records_per_shard=records_per_shard,
                             overwrite=overwrite)
  with writer:
    writer.write_all(records)
  assert writer.info is not None
  return writer.info
