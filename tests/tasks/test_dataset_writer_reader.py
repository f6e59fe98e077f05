"""Task datasets: written records read back unchanged; crashes, corruption, bad records, empties."""

from __future__ import annotations

import json
import logging
import os
import pickle

import pytest
from array_record.python.array_record_module import ArrayRecordWriter
from etils import epath
from etils.epath import testing as epath_testing

from selfchallenge_jax.tasks.check import CheckResult, Reason
from selfchallenge_jax.tasks.dataset_info import (EmptyTaskDatasetError, TaskDatasetError,
                                                  load_info)
from selfchallenge_jax.tasks.dataset_reader import open_task_source
from selfchallenge_jax.tasks.dataset_writer import TaskDatasetWriter, write_task_dataset
from selfchallenge_jax.tasks.record import CodeAsTask, TaskFormatError
from selfchallenge_jax.tasks.stored_record import TaskRecord, decode


def _task(i: int) -> CodeAsTask:
  return CodeAsTask(
      task_id=f"kv-{i}", env="test_kv", env_kwargs={"seed": i},
      instruction=f"Store color number {i}.",
      verifier=f"def verify(state, answer, messages):\n  return answer == 'ok{i}'\n",
      solution=({"name": "put", "arguments": {"key": "color", "value": str(i)}},
                {"name": "respond", "arguments": {"content": f"ok{i}"}}),
      failure_cases=(({"name": "respond", "arguments": {"content": "no"}},),),
      provenance={"model": "tiny", "step": i})


def _results(kept: int, rejected: int) -> list[CheckResult]:
  out = [CheckResult(keep=True, reason=Reason.KEPT, task=_task(i)) for i in range(kept)]
  reasons = [Reason.SOLUTION_FAILS, Reason.FAILURE_CASE_PASSES, Reason.VERIFIER_ERROR]
  out += [CheckResult(keep=False, reason=reasons[i % 3], detail=f"replay {i}", task=_task(100 + i))
          for i in range(rejected)]
  return out


def _expected(results: list[CheckResult], provenance: dict) -> list[TaskRecord]:
  return [TaskRecord.from_check(r, provenance=provenance) for r in results]


def test_written_records_read_back_in_order_with_info_and_jsonl(tmp_path):
  results = _results(kept=7, rejected=4)
  unparseable = CheckResult(keep=False, reason=Reason.UNPARSEABLE, detail="not JSON")
  with TaskDatasetWriter(tmp_path / "ds", name="kv_round1", version="1.2.0", records_per_shard=3,
                         provenance={"run": "r1"}) as writer:
    for result in results:
      writer.write_result(result)
    writer.write_result(unparseable, raw="{ this is not a task", provenance={"attempt": 2})
  provenance = {"run": "r1"}
  kept = [r for r in _expected(results, provenance) if r.keep]
  rejected = [r for r in _expected(results, provenance) if not r.keep] + [
      TaskRecord(task=None, keep=False, reason="unparseable", detail="not JSON",
                 provenance={"run": "r1", "attempt": 2}, raw="{ this is not a task")]

  assert list(open_task_source(tmp_path / "ds", "kept")) == kept
  assert list(open_task_source(tmp_path / "ds", "rejected")) == rejected
  source = open_task_source(tmp_path / "ds")
  assert source.skipped == 0 and source[6] == kept[6] and source[-1] == kept[-1]
  # Grain worker processes get a pickled copy; open readers must not stop that.
  assert list(pickle.loads(pickle.dumps(source))) == kept

  info = load_info(tmp_path / "ds")
  assert (info.name, info.version, info.schema_version) == ("kv_round1", "1.2.0", 1)
  assert info.splits["kept"].records == 7 and info.splits["kept"].reasons == {"kept": 7}
  assert info.splits["rejected"].reasons == {"failure_case_passes": 1, "solution_fails": 2,
                                             "unparseable": 1, "verifier_error": 1}
  assert [s.records for s in info.splits["kept"].shards] == [3, 3, 1]
  assert [s.file for s in info.splits["rejected"].shards] == ["rejected-00000.array_record",
                                                               "rejected-00001.array_record"]
  lines = (tmp_path / "ds" / "kept.jsonl").read_text().splitlines()
  assert [decode(line) for line in lines] == kept
  assert not [f for f in os.listdir(tmp_path / "ds") if f.startswith(".tmp")]


def test_gcs_directory_is_staged_locally_then_uploaded_under_final_names(tmp_path):
  """gs:// goes through epath (mocked here onto a local 'bucket'); ArrayRecord only writes locally."""
  bucket = tmp_path / "bucket"
  calls = []

  def local(path):
    text = os.fspath(path)
    return text.replace("gs://", f"{bucket}/") if text.startswith("gs://") else text

  def one(name):
    def fn(original, path, *args, **kwargs):
      calls.append((name, os.fspath(path)))
      return original(local(path), *args, **kwargs)
    return fn

  def two(name):
    def fn(original, path, dst, **kwargs):
      calls.append((name, os.fspath(path), os.fspath(dst)))
      return original(local(path), local(dst), **kwargs)
    return fn

  results = _results(3, 2)
  with epath_testing.mock_epath(open=one("open"), exists=one("exists"), makedirs=one("makedirs"),
                                mkdir=one("mkdir"), remove=one("remove"), rmtree=one("rmtree"),
                                copy=two("copy"), rename=two("rename"), replace=two("replace")):
    info = write_task_dataset(epath.Path("gs://runs/tasks/kv"), results, name="kv",
                              records_per_shard=2)
  # Every published file was uploaded once, from its local staging copy, under its final name
  # (a GCS object appears only when its upload completes; GCS has no atomic rename), and
  # dataset_info.json came last.
  assert not [c for c in calls if c[0] in ("rename", "replace") and "gs://" in c[2]]
  copies = [c for c in calls if c[0] == "copy"]
  assert all(not c[1].startswith("gs://") and "/.tmp-" in c[1] for c in copies)
  assert all(c[2].startswith("gs://runs/tasks/kv/") and "/.tmp-" not in c[2] for c in copies)
  assert copies[-1][2] == "gs://runs/tasks/kv/dataset_info.json"
  assert sorted(os.listdir(bucket / "runs/tasks/kv")) == [
      "dataset_info.json", "kept-00000.array_record", "kept-00001.array_record", "kept.jsonl",
      "rejected-00000.array_record", "rejected.jsonl"]
  assert info.splits["kept"].records == 3
  assert list(open_task_source(bucket / "runs/tasks/kv")) == _expected(results[:3], {})


def test_existing_dataset_is_not_overwritten_by_accident(tmp_path):
  write_task_dataset(tmp_path / "ds", _results(2, 0), name="first")
  with pytest.raises(FileExistsError, match="already holds a task dataset"):
    TaskDatasetWriter(tmp_path / "ds", name="second")
  write_task_dataset(tmp_path / "ds", _results(3, 0), name="second", overwrite=True)
  assert load_info(tmp_path / "ds").name == "second"
  assert len(open_task_source(tmp_path / "ds")) == 3


def test_crash_mid_write_publishes_no_dataset(tmp_path):
  with pytest.raises(RuntimeError, match="challenger died"):
    with TaskDatasetWriter(tmp_path / "ds", name="crashy", records_per_shard=2) as writer:
      for result in _results(5, 0):
        writer.write_result(result)
      raise RuntimeError("challenger died")
  # Two complete shards were flushed, but without dataset_info.json nothing may read them.
  assert sorted(f for f in os.listdir(tmp_path / "ds")) == ["kept-00000.array_record",
                                                            "kept-00001.array_record"]
  with pytest.raises(TaskDatasetError, match="not a task dataset"):
    open_task_source(tmp_path / "ds")


def test_corrupt_shard_error_names_the_shard(tmp_path):
  write_task_dataset(tmp_path / "ds", _results(6, 0), name="kv", records_per_shard=2)
  shard = tmp_path / "ds" / "kept-00001.array_record"
  data = bytearray(shard.read_bytes())
  for i in range(200, 260):        # inside the first record's chunk: its hash no longer matches
    data[i] ^= 0xFF
  shard.write_bytes(bytes(data))
  with pytest.raises(TaskDatasetError, match="kept-00001.array_record is corrupt"):
    open_task_source(tmp_path / "ds")


def test_truncated_or_garbage_shard_error_names_the_shard(tmp_path):
  write_task_dataset(tmp_path / "ds", _results(6, 0), name="kv", records_per_shard=2)
  shard = tmp_path / "ds" / "kept-00002.array_record"
  shard.write_bytes(shard.read_bytes()[:70_000])   # ArrayRecord alone reads this as 0 records
  with pytest.raises(TaskDatasetError, match="kept-00002.array_record is corrupt"):
    open_task_source(tmp_path / "ds")
  shard.write_bytes(b"not an array record")
  with pytest.raises(TaskDatasetError, match="kept-00002.array_record is corrupt"):
    open_task_source(tmp_path / "ds")
  writer = ArrayRecordWriter(str(shard), "group_size:1")   # a valid shard, but the wrong one
  writer.write(TaskRecord.from_check(_results(1, 0)[0]).encode())
  writer.close()
  with pytest.raises(TaskDatasetError, match="kept-00002.array_record is corrupt: it holds 1 "
                                             "records but dataset_info.json lists 2"):
    open_task_source(tmp_path / "ds")


def test_invalid_records_are_skipped_and_counted(tmp_path, caplog):
  results = _results(4, 0)
  write_task_dataset(tmp_path / "ds", results, name="kv", records_per_shard=8)
  good = [TaskRecord.from_check(r) for r in results]
  bad_task = good[0].to_json()
  bad_task["task"]["solution"] = []                       # CodeAsTask.from_json rejects this
  wrong_split = TaskRecord.from_check(_results(0, 1)[0]).encode()   # rejected record in "kept"
  payloads = [good[0].encode(), b"{not json", good[1].encode(), json.dumps(bad_task).encode(),
              good[2].encode(), wrong_split, good[3].encode(),
              json.dumps({**good[3].to_json(), "schema_version": 99}).encode()]
  # Replace the shard with one holding the same number of records, some of them invalid.
  path = tmp_path / "ds" / "kept-00000.array_record"
  info = json.loads((tmp_path / "ds" / "dataset_info.json").read_text())
  info["splits"]["kept"]["shards"][0]["records"] = len(payloads)
  (tmp_path / "ds" / "dataset_info.json").write_text(json.dumps(info))
  writer = ArrayRecordWriter(str(path), "group_size:1")
  for payload in payloads:
    writer.write(payload)
  writer.close()

  with caplog.at_level(logging.WARNING):
    source = open_task_source(tmp_path / "ds")
  assert list(source) == good
  assert source.skipped == 4
  assert [m.split(":")[0] for m in source.skipped_examples] == [
      "record 1", "record 3", "record 5", "record 7"]
  assert "solution" in source.skipped_examples[1] and "schema_version" in source.skipped_examples[3]
  assert "skipped 4 invalid record(s) of 8" in caplog.text


def test_empty_dataset_is_a_clear_error(tmp_path):
  info = write_task_dataset(tmp_path / "ds", [], name="nothing")
  assert info.splits["kept"].records == 0 and info.splits["kept"].shards == ()
  with pytest.raises(EmptyTaskDatasetError, match="nothing 1.0.0 .* has no usable records"):
    open_task_source(tmp_path / "ds")
  assert len(open_task_source(tmp_path / "ds", allow_empty=True)) == 0
  with pytest.raises(TaskDatasetError, match="no split 'train'"):
    open_task_source(tmp_path / "ds", "train")
  with pytest.raises(TaskDatasetError, match="not a task dataset"):
    open_task_source(tmp_path / "missing")


def test_record_decision_must_be_consistent(tmp_path):
  with pytest.raises(TaskFormatError, match="keep=True with reason 'solution_fails'"):
    TaskRecord(task=_task(0), keep=True, reason="solution_fails")
  with pytest.raises(TaskFormatError, match="kept but has no task"):
    TaskRecord(task=None, keep=True, reason="kept")
  with pytest.raises(TaskFormatError, match="unknown reason"):
    TaskRecord(task=_task(0), keep=False, reason="bored")
  with pytest.raises(ValueError, match="must match"):
    TaskDatasetWriter(tmp_path / "ds", name="Has Spaces")
