"""TFDS builder for written task datasets: read one by name and version through tfds.

    from selfchallenge_jax.tasks import tfds_builder
    tfds_builder.prepare_task_set("gs://bucket/run/tasks/retail_r1", data_dir="~/tensorflow_datasets")
    ds = tfds.data_source("self_challenge_tasks/retail_r1:1.0.0", data_dir="~/tensorflow_datasets")
    source = tfds_builder.tfds_task_source("retail_r1", data_dir=..., version="1.0.0")  # TaskRecords

A task set is not known when this code is written, so there are no static BUILDER_CONFIGS: the
config (name = dataset name, version = dataset version) is made from the written directory's
dataset_info.json. Once prepared, TFDS loads it from its files alone (tfds reads any config that
is not in code from data_dir), so readers need only the name, version and data_dir.

Entirely offline and without TensorFlow: it converts local/gs:// ArrayRecord shards into a TFDS
ArrayRecord dataset (features below; "record" is the stored-record JSON of stored_record.py).
Invalid records are skipped and counted, as in dataset_reader.py; a split with no valid records is
left out, because TFDS cannot write an empty split.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Iterator

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from selfchallenge_jax.tasks.dataset_info import EmptyTaskDatasetError, load_info
from selfchallenge_jax.tasks.dataset_reader import TaskRecordSource, split_shards
from selfchallenge_jax.tasks.stored_record import KEPT_SPLIT

BUILDER_NAME = "self_challenge_tasks"


@dataclasses.dataclass(eq=False)
class TaskSetConfig(tfds.core.BuilderConfig):
  source_dir: str = ""   # the task dataset directory (TaskDatasetWriter output), local or gs://


def task_set_config(source_dir: epath.PathLike) -> TaskSetConfig:
  """A config named and versioned after the task dataset written to `source_dir`."""
  info = load_info(source_dir)
  return TaskSetConfig(name=info.name, version=info.version, source_dir=str(source_dir),
                       description=info.description or f"task dataset {info.name}")


class OfflineBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Base of our builders: data comes from code or local files, never from a download."""

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls) -> epath.Path:
    # TFDS's own lookup touches `importlib_resources` (a backport we do not install on Python 3.11)
    # for builders that live inside a package; the module file is all it needs.
    return epath.Path(inspect.getfile(cls))


class SelfChallengeTasks(OfflineBuilder):
  """Task datasets written by TaskDatasetWriter; build with `config=task_set_config(dir)`."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS: list[TaskSetConfig] = []

  def __init__(self, *, config: TaskSetConfig, **kwargs: Any):
    # Without a config there is nothing to read; fail here rather than deep inside TFDS.
    if not isinstance(config, TaskSetConfig) or not config.source_dir:
      raise ValueError("SelfChallengeTasks needs config=task_set_config(<task dataset directory>)")
    kwargs.setdefault("file_format", tfds.core.FileFormat.ARRAY_RECORD)
    super().__init__(config=config, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    # DatasetInfo directly (not dataset_info_from_configs): that reads metadata files next to the
    # builder's module, which a builder defined inside a package does not have.
    return tfds.core.DatasetInfo(
        builder=self, description=self.builder_config.description,
        features=tfds.features.FeaturesDict({
            "task_id": tfds.features.Text(), "env": tfds.features.Text(), "keep": np.bool_,
            "reason": tfds.features.Text(), "record": tfds.features.Text()}),
        disable_shuffling=True)   # keep the written order, so TFDS and the raw reader agree

  def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict]]]:
    del dl_manager   # offline: the data is already in source_dir
    source_dir = epath.Path(self.builder_config.source_dir)
    info = load_info(source_dir)
    generators = {}
    for split in info.splits:
      source = TaskRecordSource(split_shards(source_dir, split, info), split=split,
                                allow_empty=True,
                                description=f"task dataset {source_dir} split {split!r}")
      if len(source):
        generators[split] = self._generate_examples(source)
      else:
        logging.info("task set %s: split %r has no valid records; not in the TFDS dataset",
                     info.name, split)
    return generators

  def _generate_examples(self, source: TaskRecordSource) -> Iterator[tuple[int, dict]]:
    for index, record in enumerate(source):
      yield index, {"task_id": record.task.task_id if record.task else "",
                    "env": record.task.env if record.task else "", "keep": record.keep,
                    "reason": record.reason, "record": record.encode().decode("utf-8")}


def prepare_task_set(source_dir: epath.PathLike, data_dir: epath.PathLike) -> SelfChallengeTasks:
  """Builds (once; later calls reuse it) the TFDS copy of the task dataset in `source_dir`."""
  builder = SelfChallengeTasks(config=task_set_config(source_dir), data_dir=str(data_dir))
  builder.download_and_prepare()
  return builder


class _TfdsRecords:
  """The "record" bytes of a tfds data source, in the RawRecords shape TaskRecordSource reads."""

  def __init__(self, source: Any):
    self.source = source

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> bytes:
    return self.source[index]["record"]

  def __iter__(self) -> Iterator[bytes]:
    for index in range(len(self)):
      yield self[index]


def tfds_task_source(name: str, data_dir: epath.PathLike, *, split: str = KEPT_SPLIT,
                     version: str | None = None, allow_empty: bool = False) -> TaskRecordSource:
  """Validated TaskRecords of a prepared task set, read through tfds.data_source."""
  spec = f"{BUILDER_NAME}/{name}" + (f":{version}" if version else "")
  sources = tfds.data_source(spec, data_dir=str(data_dir), download=False)
  description = f"TFDS task set {spec} ({data_dir}) split {split!r}"
  if split not in sources:
    # Splits without valid records are not stored (see the module docstring): an empty split.
    if not allow_empty:
      raise EmptyTaskDatasetError(f"{description} has no records (stored splits: "
                                  f"{sorted(sources)})")
    return TaskRecordSource([], split=split, allow_empty=True, description=description)
  return TaskRecordSource(_TfdsRecords(sources[split]), split=split, allow_empty=allow_empty,
                          description=description)
