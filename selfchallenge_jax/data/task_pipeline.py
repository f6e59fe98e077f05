"""The Grain pipeline that feeds GRPO: task source -> host shard -> shuffle -> repeat x G -> batch.

    source = open_task_source(workdir / "tasks" / "retail_r1")        # kept split
    config = TaskPipelineConfig(tasks_per_batch=8, group_size=4, seed=0)
    batches = TaskBatchIterator(source, config)                          # this host's share
    batch = next(batches)       # 32 CodeAsTasks: task 0 x4, task 1 x4, ... (one GRPO group each)
    ckpt.save(step, state, metadata, data_state=batches.get_state())
    ...
    batches.set_state(data_state)  # from Checkpointer.restore(); continues where the run stopped

Order of stages and why:
  * shard by host first (process_index-th of every process_count tasks), so hosts never share a
    task; with `even_shards` the remainder is dropped so every host has the same number of batches
    (a host with one batch more would wait forever in a collective);
  * shuffle per epoch with a fixed seed (grain reseeds each epoch: seed + epoch);
  * repeat each task G times consecutively before batching, and batch in multiples of G, so a GRPO
    group never straddles two batches; an epoch holds a whole number of groups, so epochs do not
    split groups either;
  * batches are lists (no stacking: elements are Python task objects, not arrays).
Everything before the iterator is a random-access grain.MapDataset, so the iterator state is one
integer (grain's {"next_index": n}), which makes resuming exact and cheap.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, Sequence

import grain
import jax
from absl import logging

from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError
from selfchallenge_jax.tasks.stored_record import TaskRecord

STATE_VERSION = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskPipelineConfig:
  tasks_per_batch: int               # distinct tasks per batch; a batch holds tasks_per_batch * G
  group_size: int = 1                # G: rollouts per task (GRPO group)
  seed: int = 0
  shuffle: bool = True
  num_epochs: int | None = None      # None: repeat forever
  even_shards: bool = True           # drop the remainder so all hosts get equally many tasks
  read_threads: int = 1              # grain prefetch threads; records are tiny and CPUs are busy

  def __post_init__(self) -> None:
    if self.tasks_per_batch < 1 or self.group_size < 1:
      raise ValueError(f"tasks_per_batch and group_size must be >= 1, got "
                       f"{self.tasks_per_batch}, {self.group_size}")
    if self.num_epochs is not None and self.num_epochs < 1:
      raise ValueError(f"num_epochs must be >= 1 or None, got {self.num_epochs}")

  @property
  def batch_size(self) -> int:
    return self.tasks_per_batch * self.group_size


class RepeatEachMapDataset(grain.MapDataset):
  """Every element of the parent `times` times in a row: [a, b] -> [a, a, a, b, b, b]."""

  def __init__(self, parent: grain.MapDataset, times: int):
    super().__init__(parent)
    self._times = times

  def __len__(self) -> int:
    parent_len = len(self._parent)
    return sys.maxsize if parent_len >= sys.maxsize else parent_len * self._times

  def __getitem__(self, index: Any) -> Any:
    if isinstance(index, slice):
      return self.slice(index)
    # Indices past the end address later epochs of the parent (grain's convention), so integer
    # division keeps working across epochs.
    return self._parent[index // self._times]

  def __str__(self) -> str:
    return f"RepeatEachMapDataset(times={self._times})"


def host_indices(num_records: int, process_index: int, process_count: int,
                 even: bool = True) -> range:
  """Indices of the records this host reads: every process_count-th, from process_index."""
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index {process_index} not in [0, {process_count})")
  stop = num_records - num_records % process_count if even else num_records
  return range(process_index, stop, process_count)


def _task_of(element: Any) -> Any:
  # Training wants the CaT task; other sources (benchmark tasks, plain lists) pass through as is.
  if isinstance(element, TaskRecord):
    if element.task is None or not element.keep:
      raise ValueError(f"a rejected task record reached the training pipeline: {element.reason}")
    return element.task
  return element


def task_batches(source: Sequence[Any], config: TaskPipelineConfig, *,
                 process_index: int | None = None,
                 process_count: int | None = None) -> grain.MapDataset:
  """This host's batches (lists of config.batch_size tasks) as a random-access grain dataset."""
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  if len(source) == 0:
    raise EmptyTaskDatasetError(f"task source {source!r} has no records to train on")
  shard = host_indices(len(source), process_index, process_count, config.even_shards)
  dropped = len(source) - len(shard) * process_count
  if config.even_shards and dropped > 0 and process_index == 0:
    logging.info("task pipeline: %d of %d tasks dropped so %d hosts get %d each", dropped,
                 len(source), process_count, len(shard))
  if len(shard) < config.tasks_per_batch:
    raise EmptyTaskDatasetError(
        f"host {process_index}/{process_count} gets {len(shard)} of {len(source)} tasks, fewer "
        f"than tasks_per_batch={config.tasks_per_batch}: not one full batch per epoch")
  ds = grain.MapDataset.source(source)[shard.start:shard.stop:shard.step]
  if config.shuffle:
    ds = ds.shuffle(seed=config.seed)
  ds = ds.map(_task_of)
  ds = RepeatEachMapDataset(ds, config.group_size)
  ds = ds.repeat(config.num_epochs)
  # drop_remainder: a short last batch would change shapes (recompiles) and break GRPO groups.
  return ds.batch(config.batch_size, drop_remainder=True, batch_fn=list)


class TaskBatchIterator:
  """Iterator over this host's task batches whose state saves as a JSON data_state."""

  def __init__(self, source: Sequence[Any], config: TaskPipelineConfig, *,
               process_index: int | None = None, process_count: int | None = None):
    self.config = config
    self.process_index = jax.process_index() if process_index is None else process_index
    self.process_count = jax.process_count() if process_count is None else process_count
    self.num_records = len(source)
    self.dataset = task_batches(source, config, process_index=self.process_index,
                                process_count=self.process_count)
    read_options = grain.ReadOptions(num_threads=config.read_threads,
                                     prefetch_buffer_size=max(1, config.read_threads))
    self._iterator = iter(self.dataset.to_iter_dataset(read_options))

  def __iter__(self) -> "TaskBatchIterator":
    return self

  def __next__(self) -> list[Any]:
    return next(self._iterator)

  def _fingerprint(self) -> dict[str, Any]:
    # Everything that decides which batch comes at which position: restoring a position into a
    # pipeline that differs in any of these would silently replay or skip data.
    return {"config": dataclasses.asdict(self.config), "num_records": self.num_records,
            "process_index": self.process_index, "process_count": self.process_count}

  def get_state(self) -> dict[str, Any]:
    """JSON-serializable; pass it to Checkpointer.save(..., data_state=...)."""
    return {"version": STATE_VERSION, "pipeline": self._fingerprint(),
            "grain": self._iterator.get_state()}

  def set_state(self, state: dict[str, Any]) -> None:
    """Continues from a get_state() of an identically configured pipeline (ValueError if not)."""
    if state.get("version") != STATE_VERSION:
      raise ValueError(f"task pipeline state version {state.get('version')!r}, expected "
                       f"{STATE_VERSION}")
    saved, current = state["pipeline"], self._fingerprint()
    # read_threads only changes speed, never order, so it may differ.
    saved_config = {k: v for k, v in saved["config"].items() if k != "read_threads"}
    current_config = {k: v for k, v in current["config"].items() if k != "read_threads"}
    differs = [key for key in current if key != "config" and saved.get(key) != current[key]]
    differs += [f"config.{k}" for k in current_config if saved_config.get(k) != current_config[k]]
    if differs:
      raise ValueError(f"task pipeline state was saved by a different pipeline ({differs} "
                       f"differ: saved {saved}, now {current}); it cannot resume this one")
    self._iterator.set_state(state["grain"])
