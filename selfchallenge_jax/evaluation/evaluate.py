"""Evaluation: k sampled executor episodes per benchmark task -> pass@1 and pass@k per environment.

    result = evaluate(engine, {"calculation": tasks_a, "retail": tasks_b}, k=4, seed=0)
    write_results(result, workdir)       # <workdir>/eval.json and <workdir>/eval.md

Per environment: pass@1 and pass@k (the unbiased estimator over `num_samples` >= k samples per
task, averaged over tasks), counts, and a histogram of why episodes ended. The headline numbers
average the environments with equal weight, as the paper reports them.

Every sample gets its own random stream (a distinct stream_id under one seed), so the k samples of
a task differ even at the same prompt, and the same (seed, tasks) evaluates reproducibly.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any, Callable, Iterator, Mapping, Sequence

import jax
from absl import logging
from etils import epath

from selfchallenge_jax.agents.executor import UserFactory, executor_spec
from selfchallenge_jax.distributed import processes
from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.evaluation.pass_at_k import mean_pass_at_k
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.rollout.endpoint_agent import EndpointAgent, EndpointEpisode
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.rollout.episode import Episode


@dataclasses.dataclass
class TaskResult:
  task_id: str
  rewards: list[float]
  end_reasons: list[str]

  @property
  def num_correct(self) -> int:
    return sum(1 for r in self.rewards if r == 1.0)


@dataclasses.dataclass
class EnvResult:
  name: str
  num_tasks: int
  num_episodes: int
  num_correct_episodes: int
  num_solved_tasks: int          # tasks with at least one correct sample
  pass_at_1: float
  pass_at_k: float
  end_reasons: dict[str, int]
  mean_turns: float
  mean_sampled_tokens: float
  tasks: list[TaskResult]


@dataclasses.dataclass
class EvalResult:
  k: int
  num_samples: int
  seed: int
  envs: dict[str, EnvResult]
  pass_at_1: float               # mean over environments
  pass_at_k: float

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  def markdown(self) -> str:
    k = self.k
    lines = [f"| environment | tasks | episodes | correct | pass@1 | pass@{k} | end reasons |",
             "|---|---|---|---|---|---|---|"]
    for r in self.envs.values():
      reasons = ", ".join(f"{name} {count}" for name, count in sorted(r.end_reasons.items()))
      lines.append(f"| {r.name} | {r.num_tasks} | {r.num_episodes} | {r.num_correct_episodes} | "
                   f"{100 * r.pass_at_1:.1f} | {100 * r.pass_at_k:.1f} | {reasons} |")
    lines.append(f"| **average** | {sum(r.num_tasks for r in self.envs.values())} | "
                 f"{sum(r.num_episodes for r in self.envs.values())} | "
                 f"{sum(r.num_correct_episodes for r in self.envs.values())} | "
                 f"**{100 * self.pass_at_1:.1f}** | **{100 * self.pass_at_k:.1f}** | |")
    header = (f"Evaluation: pass@1 and pass@{k} in percent, {self.num_samples} samples per task, "
              f"seed {self.seed}; the average weighs environments equally.\n\n")
    return header + "\n".join(lines) + "\n"


def reason_bucket(end_reason: str) -> str:
  # "env_error: KeyError: ..." carries the exception; the histogram counts the kind only.
  return end_reason.split(":", 1)[0]


def evaluate(engine: RolloutEngine, tasks_by_env: Mapping[str, Sequence[BenchmarkTask]], *, k: int,
             seed: int, num_samples: int | None = None, user_factory: UserFactory | None = None,
             episodes_per_run: int | None = None,
             on_episode_end: Callable[[], None] | None = None,
             on_scored: Callable[[dict[str, Any]], None] | None = None) -> EvalResult:
  """Runs `num_samples` (default k) executor episodes per task and scores them.

  on_episode_end() is called as each episode ends (e.g. to advance a progress line);
  on_scored(record) with each scored episode's record (episode_record: the conversation as text,
  reward, answer, expected answer), e.g. to write transcripts.
  episodes_per_run bounds how many episodes (each with its own environment; a tau database is
  megabytes) exist at once; default 4 * engine.num_slots.
  """
  n = k if num_samples is None else num_samples
  if k < 1 or n < k:
    raise ValueError(f"need 1 <= k <= num_samples, got k={k}, num_samples={n}")
  empty = [name for name, tasks in tasks_by_env.items() if not tasks]
  if not tasks_by_env or empty:
    raise ValueError(f"every environment needs tasks; empty: {empty or 'all'}")
  per_run = episodes_per_run or 4 * engine.num_slots
  results = {name: [TaskResult(t.task_id, [], []) for t in tasks]
             for name, tasks in tasks_by_env.items()}
  turns: dict[str, list[int]] = collections.defaultdict(list)
  sampled: dict[str, list[int]] = collections.defaultdict(list)

  # Multi-process: each process runs its share of every chunk (work[p::P]) on its own devices
  # and the outcomes are gathered, so every process returns the same result. Each sample's tokens
  # depend on its stream id only, not on which process or batch sampled it.
  work = list(_work_items(tasks_by_env, n))
  chunk_size = per_run * jax.process_count()
  for start in range(0, len(work), chunk_size):
    chunk = work[start:start + chunk_size]
    mine = processes.share(chunk)
    specs = [executor_spec(task, stream_id=stream_id, tag=(name, index), user_factory=user_factory)
             for stream_id, name, index, task in mine]
    episodes = engine.run(specs, seed=seed, on_episode_end=(
        None if on_episode_end is None else lambda index, episode: on_episode_end())) if specs else []
    del specs     # the environments are released once the chunk is scored
    outcomes = [_outcome(engine, item, episode, with_record=on_scored is not None)
                for item, episode in zip(mine, episodes)]
    for (stream_id, name, index, task), outcome in zip(
        chunk, processes.gather_shares(outcomes, len(chunk))):
      result = results[name][index]
      result.rewards.append(outcome["reward"])
      result.end_reasons.append(outcome["end_reason"])
      turns[name].append(outcome["turns"])
      sampled[name].append(outcome["sampled_tokens"])
      if on_scored is not None:
        on_scored(outcome["record"])
    logging.info("evaluate: %d / %d episodes", min(start + chunk_size, len(work)), len(work))

  envs = {name: _env_result(name, task_results, n, k, turns[name], sampled[name])
          for name, task_results in results.items()}
  for r in envs.values():
    logging.info("evaluate %s: pass@1 %.3f pass@%d %.3f (%d tasks, %d episodes) %s", r.name,
                 r.pass_at_1, k, r.pass_at_k, r.num_tasks, r.num_episodes, r.end_reasons)
  return EvalResult(k=k, num_samples=n, seed=seed, envs=envs,
                    pass_at_1=sum(r.pass_at_1 for r in envs.values()) / len(envs),
                    pass_at_k=sum(r.pass_at_k for r in envs.values()) / len(envs))


def _work_items(tasks_by_env: Mapping[str, Sequence[BenchmarkTask]], n: int
                ) -> Iterator[tuple[int, str, int, BenchmarkTask]]:
  stream_id = 0
  for name, tasks in tasks_by_env.items():
    for index, task in enumerate(tasks):
      for _ in range(n):
        yield stream_id, name, index, task
        stream_id += 1


def episode_record(engine: RolloutEngine | EndpointAgent, env_name: str, task: BenchmarkTask,
                   stream_id: int, episode: Episode, reward: float) -> dict[str, Any]:
  """One scored episode as a JSON-able record: what a reader needs to see why it failed."""
  return {"env": env_name, "task_id": task.task_id, "stream_id": stream_id, "reward": reward,
          "end_reason": episode.end_reason, "answer": episode.answer,
          "expected_answer": task.expected_answer, "turns": episode.num_turns,
          "sampled_tokens": sum(episode.loss_mask), "actions": episode.actions,
          "text": episode_text(engine, episode)}


def episode_text(engine: RolloutEngine | EndpointAgent, episode: Episode) -> str:
  """The conversation as text: the exact tokens decoded, or an endpoint's messages (it has no
  tokens), one `role: content` paragraph each."""
  if not isinstance(episode, EndpointEpisode):
    return engine.chat.tokenizer.decode(episode.tokens)
  parts = []
  for m in episode.messages:
    content = m.get("content") or ""
    if m.get("tool_calls"):
      content = (content + " " + json.dumps(m["tool_calls"], ensure_ascii=False)).strip()
    parts.append(f"{m.get('role')}: {content}")
  return "\n\n".join(parts)


def _outcome(engine: RolloutEngine, item: tuple[int, str, int, BenchmarkTask], episode: Episode,
             with_record: bool) -> dict[str, Any]:
  """What the result needs of one episode, JSON-able (gathered across processes)."""
  stream_id, name, _, task = item
  reward = score_episode(task, episode)
  out = {"reward": reward, "end_reason": episode.end_reason, "turns": episode.num_turns,
         "sampled_tokens": sum(episode.loss_mask)}
  if with_record:
    out["record"] = episode_record(engine, name, task, stream_id, episode, reward)
  return out


def _env_result(name: str, tasks: list[TaskResult], n: int, k: int, turns: list[int],
                sampled: list[int]) -> EnvResult:
  counts = [(n, t.num_correct) for t in tasks]
  reasons = collections.Counter(reason_bucket(r) for t in tasks for r in t.end_reasons)
  return EnvResult(
      name=name, num_tasks=len(tasks), num_episodes=sum(len(t.rewards) for t in tasks),
      num_correct_episodes=sum(t.num_correct for t in tasks),
      num_solved_tasks=sum(1 for t in tasks if t.num_correct > 0),
      pass_at_1=mean_pass_at_k(counts, 1), pass_at_k=mean_pass_at_k(counts, k),
      end_reasons=dict(sorted(reasons.items())),
      mean_turns=sum(turns) / max(len(turns), 1),
      mean_sampled_tokens=sum(sampled) / max(len(sampled), 1), tasks=tasks)


def write_results(result: EvalResult, workdir: epath.PathLike, name: str = "eval"
                  ) -> tuple[epath.Path, epath.Path]:
  """Writes <workdir>/<name>.json (everything, per task) and <name>.md (the table)."""
  root = epath.Path(workdir)
  root.mkdir(parents=True, exist_ok=True)
  json_path, md_path = root / f"{name}.json", root / f"{name}.md"
  json_path.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n")
  md_path.write_text(result.markdown())
  return json_path, md_path
