"""Grain random-access sources over task datasets: validated TaskRecords, bad records counted.

    source = open_task_source(workdir / "tasks" / "retail_r1", "kept")
    len(source), source[0].task, source.skipped      # grain.MapDataset.source(source) works too

Opening scans the split once and validates every record (stored_record.decode). Records that fail
(TaskFormatError) are skipped and counted in `source.skipped` (first messages in
`source.skipped_examples`, and a warning in the log): a few bad records must not stop a run, but
they must never vanish unnoticed either. The scan also reads every shard, so a corrupt shard fails
at open, with its file name, rather than hours into training. Task datasets are small (thousands of
records), so the scan is cheap; indices of the valid records are all that is kept.
"""

from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np
from absl import logging
from etils import epath

from selfchallenge_jax.tasks.array_record_shards import ArrayRecordShards
from selfchallenge_jax.tasks.dataset_info import (DatasetInfo, EmptyTaskDatasetError,
                                                  TaskDatasetError, load_info)
from selfchallenge_jax.tasks.record import TaskFormatError
from selfchallenge_jax.tasks.stored_record import KEPT_SPLIT, REJECTED_SPLIT, TaskRecord, decode

_EXAMPLES = 5   # skipped-record messages kept for the log and for callers


class RawRecords(Protocol):
  """Random access to encoded records (ArrayRecordShards, a TFDS source adapter, a list)."""

  def __len__(self) -> int: ...

  def __getitem__(self, index: int) -> bytes: ...

  def __iter__(self) -> Iterator[bytes]: ...


class TaskRecordSource:
  """A grain RandomAccessDataSource of TaskRecords: the valid records of `raw`, in order."""

  def __init__(self, raw: RawRecords, *, description: str, split: str | None = None,
               allow_empty: bool = False):
    self.raw = raw
    self.description = description
    # A record in the wrong split would e.g. put a rejected task into training: treat it as invalid.
    expect_keep = {KEPT_SPLIT: True, REJECTED_SPLIT: False}.get(split or "")
    valid: list[int] = []
    self.skipped_examples: list[str] = []
    skipped = 0
    for index, data in enumerate(raw):
      try:
        record = decode(data)
        if expect_keep is not None and record.keep != expect_keep:
          raise TaskFormatError(f"record with keep={record.keep} in split {split!r}")
      except TaskFormatError as e:
        skipped += 1
        if len(self.skipped_examples) < _EXAMPLES:
          self.skipped_examples.append(f"record {index}: {e}")
        continue
      valid.append(index)
    self.skipped = skipped
    self._valid = np.asarray(valid, dtype=np.int64)
    if skipped:
      logging.warning("%s: skipped %d invalid record(s) of %d; first: %s", description, skipped,
                      len(raw), self.skipped_examples)
    if not valid and not allow_empty:
      raise EmptyTaskDatasetError(
          f"{description} has no usable records ({len(raw)} stored, {skipped} invalid)")

  def __len__(self) -> int:
    return len(self._valid)

  def __getitem__(self, index: int) -> TaskRecord:
    # Validated at open; decoding again here (not caching) keeps memory flat for big datasets.
    return decode(self.raw[int(self._valid[index])])

  def __iter__(self) -> Iterator[TaskRecord]:
    for index in range(len(self)):
      yield self[index]

  def __repr__(self) -> str:
    return f"TaskRecordSource({self.description}, {len(self)} records, {self.skipped} skipped)"


def split_shards(directory: epath.PathLike, split: str,
                 info: DatasetInfo | None = None) -> ArrayRecordShards:
  """The raw ArrayRecord shards of one split, as listed in dataset_info.json."""
  directory = epath.Path(directory)
  info = info or load_info(directory)
  if split not in info.splits:
    raise TaskDatasetError(f"task dataset {directory} has no split {split!r}; splits: "
                           f"{sorted(info.splits)}")
  shards = info.splits[split].shards
  return ArrayRecordShards([directory / s.file for s in shards], [s.records for s in shards])


def open_task_source(directory: epath.PathLike, split: str = KEPT_SPLIT, *,
                     allow_empty: bool = False) -> TaskRecordSource:
  """Validated TaskRecords of `split` of the dataset written to `directory` (local or gs://)."""
  directory = epath.Path(directory)
  info = load_info(directory)
  return TaskRecordSource(split_shards(directory, split, info),
                          description=f"task dataset {info.name} {info.version} ({directory}) "
                                      f"split {split!r}",
                          split=split, allow_empty=allow_empty)

