"""Grain task pipeline: GRPO groups, seeded epochs, hosts' rows of global batches, and checkpointed
iterator state."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import optax
import pytest

from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.data import TaskBatchIterator, TaskPipelineConfig, task_batches
from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError
from selfchallenge_jax.tasks.dataset_reader import open_task_source
from selfchallenge_jax.tasks.dataset_writer import write_task_dataset
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.tasks.stored_record import TaskRecord


def _task(i: int) -> CodeAsTask:
  return CodeAsTask(
      task_id=f"task-{i:02d}", env="calculation", env_kwargs={"seed": i},
      instruction=f"Compute {i} * 3.",
      verifier=f"def verify(state, answer, messages):\n  return answer == '{3 * i}'\n",
      solution=({"name": "respond", "arguments": {"content": str(3 * i)}},),
      failure_cases=(({"name": "respond", "arguments": {"content": "0"}},),))


@pytest.fixture
def source(tmp_path):
  """12 kept tasks in a written dataset, read through the validating grain source."""
  records = [TaskRecord(task=_task(i), keep=True, reason="kept") for i in range(12)]
  write_task_dataset(tmp_path / "tasks", records, name="pipeline_test", records_per_shard=5)
  return open_task_source(tmp_path / "tasks")


def _ids(batch: list[CodeAsTask]) -> list[str]:
  return [task.task_id for task in batch]


def _run(source, config, **host) -> list[list[str]]:
  return [_ids(batch) for batch in TaskBatchIterator(source, config, **host)]


def test_batches_are_whole_grpo_groups_and_epochs_are_permutations(source):
  config = TaskPipelineConfig(tasks_per_batch=3, group_size=4, seed=7, num_epochs=2)
  batches = _run(source, config, process_index=0, process_count=1)
  assert len(batches) == 2 * 12 // 3 and all(len(b) == 12 for b in batches)
  order = []
  for batch in batches:
    groups = [batch[i:i + 4] for i in range(0, 12, 4)]
    assert all(len(set(group)) == 1 for group in groups)    # G copies of one task, in a row
    order += [group[0] for group in groups]
  all_ids = sorted(record.task.task_id for record in source)
  assert sorted(order[:12]) == all_ids and sorted(order[12:]) == all_ids
  assert order[:12] != order[12:]                   # each epoch is reshuffled
  assert order[:12] != all_ids                      # and shuffled at all
  assert batches == _run(source, config, process_index=0, process_count=1)   # seeded
  other_seed = TaskPipelineConfig(tasks_per_batch=3, group_size=4, seed=8, num_epochs=2)
  assert batches != _run(source, other_seed, process_index=0, process_count=1)


def test_hosts_get_their_rows_of_the_same_global_batches(source):
  """Two hosts' batches, concatenated in process order, are the one-host run's batches: the
  global batch does not depend on the host count (a group of 3 straddles the hosts here)."""
  config = TaskPipelineConfig(tasks_per_batch=2, group_size=3, seed=3, num_epochs=1)
  one = _run(source, config, process_index=0, process_count=1)
  two = [_run(source, config, process_index=p, process_count=2) for p in (0, 1)]
  assert len(one) == len(two[0]) == len(two[1]) == 6
  assert all(len(b) == 3 for host in two for b in host)
  assert [a + b for a, b in zip(*two)] == one
  assert collections.Counter(i for b in one for i in b) == {
      f"task-{i:02d}": 3 for i in range(12)}                 # one epoch: every task, G rows each


def test_rows_that_do_not_split_over_hosts_are_a_clear_error(source):
  with pytest.raises(ValueError, match="5 rows do not split evenly over 2 hosts"):
    task_batches(source, TaskPipelineConfig(tasks_per_batch=5), process_index=0, process_count=2)
  with pytest.raises(ValueError, match="process_index 2"):
    task_batches(source, TaskPipelineConfig(tasks_per_batch=2), process_index=2, process_count=2)


def test_iterator_state_round_trips_through_a_checkpoint(source, tmp_path):
  config = TaskPipelineConfig(tasks_per_batch=2, group_size=3, seed=11)   # repeats forever
  host = dict(process_index=0, process_count=1)
  uninterrupted = TaskBatchIterator(source, config, **host)
  run = TaskBatchIterator(source, config, **host)
  for _ in range(5):      # into the second epoch (6 batches per epoch)
    next(uninterrupted), next(run)
  params = {"w": jnp.zeros((2,), jnp.float32)}
  state = TrainState.create(params, optax.sgd(0.1), jax.random.key(0), step=5)
  with Checkpointer(tmp_path / "ckpt", async_save=False) as ckpt:
    ckpt.save(5, state, {"model_config": {"name": "none"}}, data_state=run.get_state())
  expected = [_ids(next(uninterrupted)) for _ in range(4)]

  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
                          state)
  _, _, data_state = Checkpointer(tmp_path / "ckpt", create=False).restore(abstract)
  resumed = TaskBatchIterator(source, config, **host)
  resumed.set_state(data_state)
  assert [_ids(next(resumed)) for _ in range(4)] == expected
  fresh = TaskBatchIterator(source, config, **host)
  assert _ids(next(fresh)) != expected[0]           # the state, not luck, picked the position


def test_state_from_a_different_pipeline_is_refused(source):
  host = dict(process_index=0, process_count=2)
  saved = TaskBatchIterator(source, TaskPipelineConfig(tasks_per_batch=2, group_size=2), **host)
  other = TaskBatchIterator(source, TaskPipelineConfig(tasks_per_batch=2, group_size=4), **host)
  with pytest.raises(ValueError, match="config.group_size"):
    other.set_state(saved.get_state())
  other_host = TaskBatchIterator(source, TaskPipelineConfig(tasks_per_batch=2, group_size=2),
                                 process_index=1, process_count=2)
  with pytest.raises(ValueError, match="process_index"):
    other_host.set_state(saved.get_state())


def test_empty_or_too_small_sources_are_clear_errors(source, tmp_path):
  write_task_dataset(tmp_path / "empty", [], name="empty")
  empty = open_task_source(tmp_path / "empty", allow_empty=True)
  with pytest.raises(EmptyTaskDatasetError, match="no records to train on"):
    task_batches(empty, TaskPipelineConfig(tasks_per_batch=1), process_index=0, process_count=1)
  with pytest.raises(EmptyTaskDatasetError, match="12 tasks, fewer than tasks_per_batch=14"):
    task_batches(source, TaskPipelineConfig(tasks_per_batch=14), process_index=1, process_count=2)


def test_default_host_is_this_jax_process(source):
  config = TaskPipelineConfig(tasks_per_batch=12, group_size=1, shuffle=False, num_epochs=1)
  iterator = TaskBatchIterator(source, config)
  assert (iterator.process_index, iterator.process_count) == (jax.process_index(),
                                                              jax.process_count())
  assert _ids(next(iterator)) == [f"task-{i:02d}" for i in range(12)]
