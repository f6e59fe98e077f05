"""The Grain pipeline that feeds GRPO: task source -> shuffle -> global batches -> host rows.

    source = open_task_source(workdir / "tasks" / "retail_r1")        # kept split
    config = TaskPipelineConfig(tasks_per_batch=8, group_size=4, seed=0)
    batches = TaskBatchIterator(source, config)                          # this host's rows
    batch = next(batches)       # one host: 32 CodeAsTasks, task 0 x4, task 1 x4, ... (GRPO groups)
    ckpt.save(step, state, metadata, data_state=batches.get_state())
    ...
    batches.set_state(data_state)  # from Checkpointer.restore(); continues where the run stopped

`tasks_per_batch` is the GLOBAL batch (as the AOT plan and the update program see it): every host
reads the same seeded stream of global batches and keeps its own rows of each, rows
[p * R / P, (p + 1) * R / P) of the R = tasks_per_batch x G rows for host p of P. So the global
batch, hence every token a run samples, does not depend on how many hosts sample it (the stream
ids number global rows); a group may straddle two hosts (advantages are computed on the gathered
global rewards).

Order of stages and why:
  * shuffle per epoch with a fixed seed (grain reseeds each epoch: seed + epoch), then batch
    tasks_per_batch tasks (a batch may span an epoch boundary; only whole batches: a short last
    batch would change shapes, and hosts must all see the same number of batches);
  * repeat each task G times consecutively, so a GRPO group is G consecutive rows;
  * slice this host's rows (each host decodes the batch's T records: they are small);
  * batches are lists (no stacking: elements are Python task objects, not arrays).
Everything is a random-access grain.MapDataset, so the iterator state is one integer (grain's
{"next_index": n}), which makes resuming exact and cheap.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import grain
import jax

from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError
from selfchallenge_jax.tasks.stored_record import TaskRecord

STATE_VERSION = 2      # 2: tasks_per_batch is the global batch (1: per host)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskPipelineConfig:
  tasks_per_batch: int               # tasks per GLOBAL batch of tasks_per_batch * G rows
  group_size: int = 1                # G: rollouts per task (GRPO group)
  seed: int = 0
  shuffle: bool = True
  num_epochs: int | None = None      # None: repeat forever
  read_threads: int = 1              # grain prefetch threads; records are tiny and CPUs are busy

  def __post_init__(self) -> None:
    if self.tasks_per_batch < 1 or self.group_size < 1:
      raise ValueError(f"tasks_per_batch and group_size must be >= 1, got "
                       f"{self.tasks_per_batch}, {self.group_size}")
    if self.num_epochs is not None and self.num_epochs < 1:
      raise ValueError(f"num_epochs must be >= 1 or None, got {self.num_epochs}")

  @property
  def batch_size(self) -> int:
    """Rows of the global batch."""
    return self.tasks_per_batch * self.group_size

  def host_rows(self, process_index: int, process_count: int) -> slice:
    """Host `process_index`'s rows of each global batch (ValueError if they cannot be equal)."""
    if not 0 <= process_index < process_count:
      raise ValueError(f"process_index {process_index} not in [0, {process_count})")
    if self.batch_size % process_count:
      raise ValueError(f"tasks_per_batch x group_size = {self.tasks_per_batch} x "
                       f"{self.group_size} = {self.batch_size} rows do not split evenly over "
                       f"{process_count} hosts")
    rows = self.batch_size // process_count
    return slice(process_index * rows, (process_index + 1) * rows)


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
  """This host's rows of each global batch (lists of tasks) as a random-access grain dataset."""
  process_index = jax.process_index() if process_index is None else process_index
  process_count = jax.process_count() if process_count is None else process_count
  rows = config.host_rows(process_index, process_count)
  if len(source) == 0:
    raise EmptyTaskDatasetError(f"task source {source!r} has no records to train on")
  if len(source) < config.tasks_per_batch:
    raise EmptyTaskDatasetError(
        f"{len(source)} tasks, fewer than tasks_per_batch={config.tasks_per_batch}: not one full "
        "batch per epoch")
  group_size = config.group_size

  def host_rows(tasks: list[Any]) -> list[Any]:
    return [_task_of(task) for task in tasks for _ in range(group_size)][rows]

  ds = grain.MapDataset.source(source)
  if config.shuffle:
    ds = ds.shuffle(seed=config.seed)
  ds = ds.repeat(config.num_epochs)
  return ds.batch(config.tasks_per_batch, drop_remainder=True, batch_fn=list).map(host_rows)


class TaskBatchIterator:
  """Iterator over this host's rows of the global task batches; its state saves as JSON."""

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
