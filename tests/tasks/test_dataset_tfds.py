"""TFDS: written task datasets and built-in benchmark sets read by name/version, without TensorFlow."""

from __future__ import annotations

import json
import sys

import grain
import pytest
import tensorflow_datasets as tfds

from selfchallenge_jax.tasks import tfds_benchmark, tfds_builder
from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError
from selfchallenge_jax.tasks.dataset_writer import write_task_dataset
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.tasks.stored_record import TaskRecord, decode


def _task(i: int) -> CodeAsTask:
  return CodeAsTask(
      task_id=f"calc-{i}", env="calculation", env_kwargs={"seed": i},
      instruction=f"What is {i} + {i}?",
      verifier=f"def verify(state, answer, messages):\n  return answer.strip() == '{2 * i}'\n",
      solution=({"name": "respond", "arguments": {"content": str(2 * i)}},),
      failure_cases=(({"name": "respond", "arguments": {"content": str(2 * i + 1)}},),))


def _records(kept: int, rejected: int) -> list[TaskRecord]:
  return ([TaskRecord(task=_task(i), keep=True, reason="kept", provenance={"round": 1})
           for i in range(kept)] +
          [TaskRecord(task=_task(50 + i), keep=False, reason="solution_fails", detail="False")
           for i in range(rejected)])


def test_task_set_reads_back_by_name_and_version_through_tfds(tmp_path):
  records = _records(kept=5, rejected=3)
  write_task_dataset(tmp_path / "v1", records, name="calc_round1", version="1.0.0",
                     records_per_shard=2)
  write_task_dataset(tmp_path / "v2", _records(kept=2, rejected=0), name="calc_round1",
                     version="2.0.0")
  data_dir = tmp_path / "tfds"
  tfds_builder.prepare_task_set(tmp_path / "v1", data_dir)
  tfds_builder.prepare_task_set(tmp_path / "v2", data_dir)

  sources = tfds.data_source("self_challenge_tasks/calc_round1:1.0.0", data_dir=str(data_dir))
  assert [decode(sources["kept"][i]["record"]) for i in range(len(sources["kept"]))] == records[:5]
  assert [decode(ex["record"]) for ex in sources["rejected"]] == records[5:]
  assert sources["rejected"][0]["reason"] == b"solution_fails"
  assert sources["kept"][4]["task_id"] == b"calc-4" and bool(sources["kept"][4]["keep"])

  # The builder API reads the same thing; and the other version stays separately addressable.
  builder = tfds.builder("self_challenge_tasks/calc_round1:1.0.0", data_dir=str(data_dir))
  assert builder.info.splits["kept"].num_examples == 5
  assert list(tfds_builder.tfds_task_source("calc_round1", data_dir, version="1.0.0")) == records[:5]
  v2 = tfds_builder.tfds_task_source("calc_round1", data_dir, version="2.0.0")
  assert [r.task.task_id for r in v2] == ["calc-0", "calc-1"]
  # Grain reads the TFDS-backed source like any other random-access source.
  assert list(grain.MapDataset.source(v2)) == list(v2)
  assert "tensorflow" not in sys.modules   # the whole path runs without TensorFlow


def test_tfds_split_without_records_is_a_clear_error(tmp_path):
  write_task_dataset(tmp_path / "ds", _records(kept=0, rejected=2), name="all_rejected")
  tfds_builder.prepare_task_set(tmp_path / "ds", tmp_path / "tfds")
  with pytest.raises(EmptyTaskDatasetError, match="all_rejected.*'kept' has no records"):
    tfds_builder.tfds_task_source("all_rejected", tmp_path / "tfds")
  assert len(tfds_builder.tfds_task_source("all_rejected", tmp_path / "tfds", split="rejected")) == 2


def test_builder_needs_a_task_set_config(tmp_path):
  with pytest.raises(ValueError, match="task_set_config"):
    tfds_builder.SelfChallengeTasks(config="anything", data_dir=str(tmp_path))


@pytest.mark.parametrize("family", sorted(tfds_benchmark.FAMILIES))
def test_benchmark_sets_are_the_generators_tasks(tmp_path, family):
  count = tfds_benchmark.FAMILIES[family]
  expected = tfds_benchmark.generator(family)(count, tfds_benchmark.BENCHMARK_SEED)
  # tfds.data_source prepares the config on first use, offline, from the generator.
  source = tfds.data_source(f"self_challenge_benchmark/{family}", data_dir=str(tmp_path),
                            split="test")
  assert len(source) == count
  assert [json.loads(source[i]["record"]) for i in range(count)] == [
      json.loads(json.dumps(t.to_json())) for t in expected]
  tasks = tfds_benchmark.benchmark_source(family, tmp_path)
  assert list(tasks) == expected
  assert {t.env for t in tasks} == {family}


def test_unknown_benchmark_family(tmp_path):
  with pytest.raises(ValueError, match="unknown benchmark family 'chess'"):
    tfds_benchmark.benchmark_source("chess", tmp_path)
