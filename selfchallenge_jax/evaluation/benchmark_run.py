"""A resumable benchmark evaluation: every scored episode is one line of a JSONL journal.

    journal = Journal(out / "episodes.jsonl")        # reads what an earlier, killed run scored
    summary = run_benchmark(engine, tasks_by_env, num_samples=4, k=4, seed=0, journal=journal)

`engine` is a RolloutEngine (a checkpoint) or an EndpointAgent (a model behind an OpenAI-compatible
endpoint): both run the same executor specs, and the journal records the same fields.

Each (environment, task, sample) has a fixed random stream (its position in the benchmark), so a
run that was killed and started again scores only the samples it had not, with the tokens an
uninterrupted run would have drawn. The summary reports what the benchmarks themselves do:
pass@1 and pass@k (M3ToolEval; the unbiased estimator) and pass^k (tau-bench: all k of k samples
succeed), per environment and averaged with equal weight.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import os
from typing import Any, Callable, Mapping, Sequence

from etils import epath

from selfchallenge_jax.agents.executor import UserFactory, executor_spec
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.envs.user_endpoint import UserEndpointError
from selfchallenge_jax.evaluation.evaluate import episode_record, reason_bucket
from selfchallenge_jax.evaluation.pass_at_k import mean_pass_at_k, mean_pass_hat_k
from selfchallenge_jax.rollout.endpoint_agent import EndpointAgent, EndpointEpisode
from selfchallenge_jax.rollout.endpoint_turns import BACKEND_ERROR
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.rollout.episode import ENV_ERROR

Key = tuple[str, str, int]          # (environment, task id, sample)


class Journal:
  """Append-only JSONL of scored episodes. A line cut short by a kill is dropped on open."""

  def __init__(self, path: epath.PathLike):
    self.path = epath.Path(path)
    self.records: dict[Key, dict[str, Any]] = {}
    if self.path.exists():
      text = self.path.read_text()
      complete = text[:text.rfind("\n") + 1]
      for number, line in enumerate(complete.splitlines(), 1):
        try:
          record = json.loads(line)
          key = (record["env"], record["task_id"], int(record["sample"]))
        except (ValueError, KeyError, TypeError) as e:
          raise ValueError(f"{self.path}:{number} is not an episode record ({e}); move the file "
                           "away to start over") from None
        self.records[key] = record
      if complete != text:              # the torn last line of a killed run: cut in place
        os.truncate(self.path, len(complete.encode("utf-8")))
    else:
      self.path.parent.mkdir(parents=True, exist_ok=True)
      self.path.write_text("")
    self._file = self.path.open("a")

  def add(self, record: dict[str, Any]) -> None:
    self.records[(record["env"], record["task_id"], int(record["sample"]))] = record
    self._file.write(json.dumps(record, default=str) + "\n")
    self._file.flush()
    if hasattr(self._file, "fileno"):
      os.fsync(self._file.fileno())

  def close(self) -> None:
    self._file.close()


@dataclasses.dataclass
class EnvSummary:
  name: str
  tasks: int
  episodes: int
  correct: int
  pass_at_1: float | None        # None: no task has all its samples scored yet
  pass_at_k: float | None
  pass_hat_k: float | None
  end_reasons: dict[str, int]
  incomplete_tasks: int          # tasks with a sample not scored (an endpoint gave up)


@dataclasses.dataclass
class BenchmarkSummary:
  benchmark: str
  k: int
  num_samples: int
  seed: int
  answer_check: str
  envs: dict[str, EnvSummary]
  pass_at_1: float | None
  pass_at_k: float | None
  pass_hat_k: float | None
  resumed_episodes: int          # scored by an earlier run of the same evaluation
  unscored: list[dict[str, Any]]   # episodes given up on this run (retried by the next one)

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  def markdown(self) -> str:
    k = self.k
    lines = [f"| environment | tasks | episodes | correct | pass@1 | pass@{k} | pass^{k} | end reasons |",
             "|---|---|---|---|---|---|---|---|"]
    for r in self.envs.values():
      reasons = ", ".join(f"{n} {c}" for n, c in sorted(r.end_reasons.items()))
      lines.append(f"| {r.name} | {r.tasks} | {r.episodes} | {r.correct} | {_pct(r.pass_at_1)} "
                   f"| {_pct(r.pass_at_k)} | {_pct(r.pass_hat_k)} | {reasons} |")
    if len(self.envs) > 1:
      lines.append(f"| **average** | | | | **{_pct(self.pass_at_1)}** | "
                   f"**{_pct(self.pass_at_k)}** | **{_pct(self.pass_hat_k)}** | |")
    note = ""
    if self.unscored:
      tasks = sum(e.incomplete_tasks for e in self.envs.values())
      note = (f"\n{len(self.unscored)} episodes were not scored (an endpoint gave up; "
              f"{tasks} tasks left out of the table): run the same command again to retry them.\n")
    return (f"{self.benchmark}: percent, {self.num_samples} samples per task, seed {self.seed}, "
            f"answer check {self.answer_check}; environments weigh equally in the average.\n\n"
            + "\n".join(lines) + "\n" + note)


def _pct(value: float | None) -> str:
  return "n/a" if value is None else f"{100 * value:.1f}"


def run_benchmark(engine: RolloutEngine | EndpointAgent,
                  tasks_by_env: Mapping[str, Sequence[BenchmarkTask]], *, benchmark: str,
                  num_samples: int, k: int, seed: int, journal: Journal,
                  answer_check: str = "strict", user_factory: UserFactory | None = None,
                  episodes_per_run: int | None = None,
                  on_episode_end: Callable[[], None] | None = None) -> BenchmarkSummary:
  """Scores `num_samples` episodes per task (those not in `journal` yet) and summarises all."""
  if not 1 <= k <= num_samples:
    raise ValueError(f"need 1 <= k <= num_samples, got k={k}, num_samples={num_samples}")
  if not tasks_by_env or not all(tasks_by_env.values()):
    raise ValueError(f"{benchmark}: no tasks to evaluate")
  for name, tasks in tasks_by_env.items():
    seen = collections.Counter(t.task_id for t in tasks)
    repeated = sorted(i for i, n in seen.items() if n > 1)
    if repeated:
      raise ValueError(f"{benchmark}: task ids repeat in {name} ({repeated[:3]}); the journal "
                       "keys episodes by task id")
  work, stream_id = [], 0
  for name, tasks in tasks_by_env.items():
    for task in tasks:
      for sample in range(num_samples):
        if (name, task.task_id, sample) not in journal.records:
          work.append((stream_id, name, sample, task))
        stream_id += 1
  resumed = stream_id - len(work)
  per_run = episodes_per_run or 4 * engine.num_slots
  unscored: list[dict[str, Any]] = []       # episodes an endpoint gave up on: not journaled
  with concurrent.futures.ThreadPoolExecutor(16, thread_name_prefix="reset") as resets:
    for start in range(0, len(work), per_run):
      chunk = work[start:start + per_run]
      # Resetting a conversational task asks its user for a first message: with a model-played
      # user that is a request each, so they go out together.
      opened = list(resets.map(lambda item: _open(item, user_factory), chunk))
      ready = [(item, spec) for item, spec in zip(chunk, opened) if not isinstance(spec, str)]
      unscored += [_unscored(item, spec) for item, spec in zip(chunk, opened)
                   if isinstance(spec, str)]
      if not ready:
        continue
      opening = [list(spec.messages) for _, spec in ready]
      episodes = engine.run([spec for _, spec in ready], seed=seed, on_episode_end=(
          None if on_episode_end is None else lambda index, episode: on_episode_end()))
      del opened
      for ((sid, name, sample, task), _), messages, episode in zip(ready, opening, episodes):
        if _gave_up(episode.end_reason):
          unscored.append(_unscored((sid, name, sample, task), episode.end_reason))
          continue
        reward = score_episode(task, episode, answer_check)
        record = episode_record(engine, name, task, sid, episode, reward)
        record["sample"] = sample
        record["messages"] = _messages(engine, messages, episode)
        journal.add(record)
  return summarise(journal.records, tasks_by_env, benchmark=benchmark, num_samples=num_samples,
                   k=k, seed=seed, answer_check=answer_check, resumed=resumed,
                   unscored=unscored)


def _open(item, user_factory: UserFactory | None):
  """The episode spec of a work item, or why the user endpoint could not open it (a str)."""
  sid, _, _, task = item
  try:
    return executor_spec(task, stream_id=sid, tag=sid, user_factory=user_factory)
  except UserEndpointError as e:
    return f"{type(e).__name__}: {e}"


def _messages(engine, opening: list[dict[str, Any]], episode) -> list[dict[str, Any]]:
  """The conversation: an endpoint's own messages, or the opening and the decoded turns."""
  if isinstance(episode, EndpointEpisode):
    return episode.messages
  decode = engine.chat.tokenizer.decode
  return opening + [{"role": "assistant", "content": decode(episode.tokens[a:b])}
                    for a, b in episode.turns]


def _gave_up(end_reason: str) -> bool:
  """The user's endpoint (an env error) or the agent's (a backend error) gave no reply: the
  server's failure, not the agent's, so the episode is retried by the next run, not scored."""
  return end_reason.startswith((f"{ENV_ERROR}: {UserEndpointError.__name__}",
                                f"{BACKEND_ERROR}: {UserEndpointError.__name__}"))


def _unscored(item, reason: str) -> dict[str, Any]:
  _, name, sample, task = item
  return {"env": name, "task_id": task.task_id, "sample": sample, "reason": reason}


def summarise(records: Mapping[Key, dict[str, Any]],
              tasks_by_env: Mapping[str, Sequence[BenchmarkTask]], *, benchmark: str,
              num_samples: int, k: int, seed: int, answer_check: str, resumed: int = 0,
              unscored: Sequence[dict[str, Any]] = ()) -> BenchmarkSummary:
  """Metrics over the tasks whose every sample is scored; the others are counted as incomplete."""
  envs = {}
  for name, tasks in tasks_by_env.items():
    counts, reasons, correct, incomplete = [], collections.Counter(), 0, 0
    for task in tasks:
      rows = [records.get((name, task.task_id, s)) for s in range(num_samples)]
      if any(r is None for r in rows):
        incomplete += 1
        continue
      c = sum(1 for r in rows if r["reward"] == 1.0)
      counts.append((num_samples, c))
      correct += c
      reasons.update(reason_bucket(r["end_reason"]) for r in rows)
    rates = ((mean_pass_at_k(counts, 1), mean_pass_at_k(counts, k), mean_pass_hat_k(counts, k))
             if counts else (None, None, None))
    envs[name] = EnvSummary(name, len(counts), len(counts) * num_samples, correct, *rates,
                            dict(sorted(reasons.items())), incomplete)
  def mean(field: str) -> float | None:
    values = [getattr(e, field) for e in envs.values() if getattr(e, field) is not None]
    return sum(values) / len(values) if values else None
  return BenchmarkSummary(benchmark, k, num_samples, seed, answer_check, envs, mean("pass_at_1"),
                          mean("pass_at_k"), mean("pass_hat_k"), resumed, list(unscored))
