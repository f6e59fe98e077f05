"""TFDS builder for the built-in benchmark task sets: one config per environment family.

    from selfchallenge_jax.tasks import tfds_benchmark        # registers the builder
    ds = tfds.data_source("self_challenge_benchmark/retail", data_dir=...)   # prepares on first use
    tasks = tfds_benchmark.benchmark_source("retail", data_dir=...)          # BenchmarkTasks

Each config runs its family's `generate_benchmark_tasks(n, seed)` with a fixed seed, so the set is a
pure function of (family, version): nothing is downloaded. The sizes are the paper's test-set sizes
(PAPER.md: 48 / 34 / 115 / 50). BENCHMARK_SEED is reserved for evaluation; generating training data
with it would leak the test set. Changing a generator changes the tasks: bump VERSION when it does.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Iterator

import tensorflow_datasets as tfds
from etils import epath

from selfchallenge_jax.envs import family as family_lib
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.tasks.tfds_builder import OfflineBuilder

BUILDER_NAME = "self_challenge_benchmark"
BENCHMARK_SEED = 1000
TEST_SPLIT = "test"
# family -> number of test tasks in the paper (the family records, envs/family.py)
FAMILIES: dict[str, int] = {name: family_lib.get(name).paper_test_size
                            for name in family_lib.names()}


@dataclasses.dataclass(eq=False)
class BenchmarkConfig(tfds.core.BuilderConfig):
  family: str = ""
  num_tasks: int = 0
  seed: int = BENCHMARK_SEED


def generator(family: str) -> Callable[[int, int], list[BenchmarkTask]]:
  """The family's generate_benchmark_tasks, imported only when that family is built."""
  if family not in FAMILIES:
    raise ValueError(f"unknown benchmark family {family!r}; known: {sorted(FAMILIES)}")
  return family_lib.get(family).generate


class SelfChallengeBenchmark(OfflineBuilder):
  """Held-out benchmark tasks per family, generated with fixed seeds (no downloads)."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [BenchmarkConfig(name=family, family=family, num_tasks=count,
                                     description=f"{count} {family} test tasks, seed "
                                                 f"{BENCHMARK_SEED}")
                     for family, count in FAMILIES.items()]

  def __init__(self, **kwargs: Any):
    kwargs.setdefault("file_format", tfds.core.FileFormat.ARRAY_RECORD)
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=self.builder_config.description,
        features=tfds.features.FeaturesDict({
            "task_id": tfds.features.Text(), "env": tfds.features.Text(),
            "instruction": tfds.features.Text(),
            "record": tfds.features.Text()}),      # BenchmarkTask.to_json() as JSON
        disable_shuffling=True)                   # generation order is the benchmark order

  def _split_generators(self, dl_manager: Any) -> dict[str, Iterator[tuple[int, dict]]]:
    del dl_manager
    config = self.builder_config
    tasks = generator(config.family)(config.num_tasks, config.seed)
    return {TEST_SPLIT: self._generate_examples(tasks)}

  def _generate_examples(self, tasks: list[BenchmarkTask]) -> Iterator[tuple[int, dict]]:
    for index, task in enumerate(tasks):
      yield index, {"task_id": task.task_id, "env": task.env, "instruction": task.instruction,
                    "record": json.dumps(task.to_json(), sort_keys=True)}


class BenchmarkTaskSource:
  """A grain RandomAccessDataSource of BenchmarkTasks over a tfds data source."""

  def __init__(self, source: Any, description: str):
    self.source = source
    self.description = description

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> BenchmarkTask:
    return BenchmarkTask.from_json(json.loads(self.source[index]["record"]))

  def __iter__(self) -> Iterator[BenchmarkTask]:
    for index in range(len(self)):
      yield self[index]

  def __repr__(self) -> str:
    return f"BenchmarkTaskSource({self.description}, {len(self)} tasks)"


def benchmark_source(family: str, data_dir: epath.PathLike, *,
                     version: str | None = None) -> BenchmarkTaskSource:
  """The family's benchmark tasks; the first call generates and stores them under data_dir."""
  if family not in FAMILIES:
    raise ValueError(f"unknown benchmark family {family!r}; known: {sorted(FAMILIES)}")
  spec = f"{BUILDER_NAME}/{family}" + (f":{version}" if version else "")
  source = tfds.data_source(spec, data_dir=str(data_dir), split=TEST_SPLIT)
  return BenchmarkTaskSource(source, f"TFDS {spec} ({data_dir})")
