"""Where evaluation tasks come from: the built-in seeded generators, tau-bench task files, and
M3ToolEval-style JSON. Every loader returns BenchmarkTasks; sets are keyed by a report label.

    builtin_task_sets(8, seed=1000)            # {"calculation": [...], "web_browsing": [...], ...}
    load_tau_task_set("retail", "tau_bench/envs/retail/data")      # + ../tasks_test.py
    load_m3tooleval_task_sets("m3tooleval.jsonl", travel_data_path=..., web_pages_path=...)
"""

from __future__ import annotations

from typing import Iterable, Mapping

from etils import epath

from selfchallenge_jax.envs import family as family_lib
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.benchmarks import load_m3tooleval_tasks
from selfchallenge_jax.envs.tau_reward import load_tau_tasks


def builtin_task_sets(sizes: int | Mapping[str, int], seed: int) -> dict[str, list[BenchmarkTask]]:
  """Generated benchmark tasks per family: `sizes` tasks each, or {family: count}."""
  counts = {f: sizes for f in family_lib.names()} if isinstance(sizes, int) else dict(sizes)
  unknown = sorted(set(counts) - set(family_lib.names()))
  if unknown:
    raise ValueError(f"no generator for {unknown}; known: {', '.join(family_lib.names())}")
  return {f: family_lib.get(f).generate(n, seed) for f, n in counts.items() if n > 0}


def group_by_env(tasks: Iterable[BenchmarkTask]) -> dict[str, list[BenchmarkTask]]:
  grouped: dict[str, list[BenchmarkTask]] = {}
  for task in tasks:
    grouped.setdefault(task.env, []).append(task)
  return grouped


def tau_task_file(data_dir: epath.PathLike, split: str = "test") -> epath.Path:
  """tau-bench keeps `tasks_<split>.py` beside its `data/` folder; a JSON export may sit in
  either place. Older tau-bench airline releases name the test file `tasks.py`."""
  data_dir = epath.Path(data_dir)
  candidates = [data_dir.parent / f"tasks_{split}.py", data_dir.parent / f"tasks_{split}.json",
                data_dir / f"tasks_{split}.json", data_dir / f"tasks_{split}.py"]
  if split == "test":
    candidates.append(data_dir.parent / "tasks.py")
  for path in candidates:
    if path.exists():
      return path
  raise FileNotFoundError(f"no tau-bench {split} task file for {data_dir}; looked for "
                          + ", ".join(str(p) for p in candidates))


def load_tau_task_set(env: str, data_dir: epath.PathLike, task_file: epath.PathLike | None = None,
                      *, split: str = "test") -> list[BenchmarkTask]:
  """tau-bench tasks on tau-bench's database files: `data_dir` holds users.json etc."""
  tau = family_lib.conversational()
  if env not in tau:
    raise ValueError(f"tau-bench tasks are for {', '.join(tau)}, not {env!r}")
  path = epath.Path(task_file) if task_file is not None else tau_task_file(data_dir, split)
  return load_tau_tasks(path, env, {"data_dir": str(data_dir)})


def load_m3tooleval_task_sets(path: epath.PathLike, *, family: str | None = None,
                              travel_data_path: str | None = None,
                              web_pages_path: str | None = None) -> dict[str, list[BenchmarkTask]]:
  """M3ToolEval-style records (instruction + expected answer), grouped by environment."""
  return group_by_env(load_m3tooleval_tasks(path, family=family, travel_data_path=travel_data_path,
                                            web_pages_path=web_pages_path))


BENCHMARKS = ("m3tooleval", "taubench-retail", "taubench-airline", "generated")
M3_TASK_FILES = ("tasks.jsonl", "tasks.json")
M3_WEB_PAGES, M3_TRAVEL_DATA = "web_pages.jsonl", "travel_data.json"


def load_benchmark(spec: str, *, num_tasks: int | None = None, seed: int = 0,
                   split: str = "test", web_pages_path: str | None = None,
                   travel_data_path: str | None = None) -> dict[str, list[BenchmarkTask]]:
  """Tasks of `spec`, grouped by environment; ValueError / FileNotFoundError with one clear line.

    m3tooleval:PATH         M3ToolEval records: PATH is the task file (JSON / JSON lines) or a
                            directory holding tasks.jsonl (or tasks.json); its web pages
                            (web_pages.jsonl) and travel tables (travel_data.json) are read from
                            beside the task file unless given
    taubench-retail:DIR     tau-bench's data directory (users.json, orders.json, products.json),
    taubench-airline:DIR    unchanged; its task file (tasks_<split>.py) beside or inside it
    generated:FAMILY        `num_tasks` (default 24) tasks of a built-in generator, from `seed`
  `num_tasks` keeps the first N tasks of a file (all by default).
  """
  name, sep, path = spec.partition(":")
  if name not in BENCHMARKS or not sep or not path:
    raise ValueError(f"--benchmark={spec!r}: expected NAME:PATH with NAME in "
                     f"{', '.join(BENCHMARKS)} (generated:FAMILY for a built-in generator)")
  if num_tasks is not None and num_tasks < 1:
    raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
  if name == "generated":
    return builtin_task_sets({path: num_tasks or 24}, seed)
  if name.startswith("taubench-"):
    env = name[len("taubench-"):]
    data_dir = epath.Path(path)
    if not data_dir.is_dir():
      raise FileNotFoundError(f"--benchmark={spec!r}: tau-bench data directory {path} not found")
    tasks = load_tau_task_set(env, data_dir, split=split)
    return {env: tasks[:num_tasks]}
  task_file = epath.Path(path)
  if task_file.is_dir():
    found = [task_file / n for n in M3_TASK_FILES if (task_file / n).exists()]
    if not found:
      raise FileNotFoundError(f"--benchmark={spec!r}: {path} holds none of {M3_TASK_FILES}")
    task_file = found[0]
  beside = task_file.parent
  if web_pages_path is None and (beside / M3_WEB_PAGES).exists():
    web_pages_path = str(beside / M3_WEB_PAGES)
  if travel_data_path is None and (beside / M3_TRAVEL_DATA).exists():
    travel_data_path = str(beside / M3_TRAVEL_DATA)
  tasks = load_m3tooleval_tasks(task_file, travel_data_path=travel_data_path,
                                web_pages_path=web_pages_path)[:num_tasks]
  return group_by_env(tasks)
