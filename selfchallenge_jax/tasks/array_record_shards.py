"""Random access to the raw records of a list of ArrayRecord shards, with errors that name the shard.

ArrayRecord alone is too forgiving for a dataset we train on: a truncated shard opens fine and
reports 0 records, and a flipped byte only shows up when its chunk is read. So every shard is
checked against the record count dataset_info.json lists for it, and every reader error is
re-raised as a TaskDatasetError naming the shard file.

ArrayRecord reads local files only (C++ Riegeli file I/O; it has no Python file-object reader), so a
remote (gs://) shard is downloaded once to a local temp dir when first opened and read from there.
Task datasets are small and the reader scans every shard at open anyway, so one download per shard
costs what the scan would; the copies are deleted with the object.
"""

from __future__ import annotations

import bisect
import os
import shutil
import tempfile
import weakref
from typing import Any, Iterator, Sequence

from array_record.python.array_record_module import ArrayRecordReader
from etils import epath

from selfchallenge_jax.io.local_copies import download, is_remote
from selfchallenge_jax.tasks.dataset_info import TaskDatasetError

# Random access: read exactly the requested record, no readahead of neighbours.
_READER_OPTIONS = "readahead_buffer_size:0"


class ArrayRecordShards:
  """bytes records 0..N-1 over shards in order; picklable (readers reopen lazily per process)."""

  def __init__(self, paths: Sequence[epath.PathLike], counts: Sequence[int]):
    if len(paths) != len(counts):
      raise ValueError(f"{len(paths)} shard paths but {len(counts)} record counts")
    self.paths = tuple(os.fspath(p) for p in paths)
    self.counts = tuple(int(c) for c in counts)
    self._starts = [0]
    for count in self.counts:
      self._starts.append(self._starts[-1] + count)
    self._readers: dict[int, ArrayRecordReader] = {}
    self._local_dir: str | None = None      # local copies of remote shards

  def __len__(self) -> int:
    return self._starts[-1]

  def __getitem__(self, index: int) -> bytes:
    if not 0 <= index < len(self):
      raise IndexError(f"record {index} out of range for {len(self)} records")
    shard = bisect.bisect_right(self._starts, index) - 1
    local = index - self._starts[shard]
    reader = self._reader(shard)
    try:
      return reader.read([local])[0]
    except RuntimeError as e:
      raise self._error(shard, f"record {local} is unreadable: {e}") from e

  def __iter__(self) -> Iterator[bytes]:
    """All records in order, one shard read at a time (the cheap way to scan a dataset)."""
    for shard in range(len(self.paths)):
      reader = self._reader(shard)
      try:
        records = reader.read_all()
      except RuntimeError as e:
        raise self._error(shard, f"it is unreadable: {e}") from e
      yield from records

  def _reader(self, shard: int) -> ArrayRecordReader:
    reader = self._readers.get(shard)
    if reader is None:
      try:
        reader = ArrayRecordReader(self._local_path(shard), _READER_OPTIONS)
      except (RuntimeError, OSError) as e:
        raise self._error(shard, f"it cannot be opened: {e}") from e
      if not reader.ok():
        raise self._error(shard, "the ArrayRecord reader reports it damaged (truncated?)")
      if reader.num_records() != self.counts[shard]:
        raise self._error(shard, f"it holds {reader.num_records()} records but dataset_info.json "
                                 f"lists {self.counts[shard]} (truncated or replaced)")
      self._readers[shard] = reader
    return reader

  def _local_path(self, shard: int) -> str:
    path = self.paths[shard]
    if not is_remote(path):
      return path
    if self._local_dir is None:
      self._local_dir = tempfile.mkdtemp(prefix="array_record_shards_")
      weakref.finalize(self, shutil.rmtree, self._local_dir, True)
    return download(path, self._local_dir)

  def _error(self, shard: int, why: str) -> TaskDatasetError:
    return TaskDatasetError(f"task dataset shard {self.paths[shard]} is corrupt: {why}")

  def close(self) -> None:
    for reader in self._readers.values():
      reader.close()
    self._readers = {}

  def __getstate__(self) -> dict[str, Any]:
    # Open readers are not picklable; grain worker processes reopen what they use.
    state = dict(self.__dict__)
    state["_readers"] = {}
    state["_local_dir"] = None          # the copies belong to (and die with) this object
    return state

  def __repr__(self) -> str:
    return f"ArrayRecordShards({len(self.paths)} shards, {len(self)} records)"
