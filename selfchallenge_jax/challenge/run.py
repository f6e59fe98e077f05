"""run_challenge: challenger episodes -> parse -> dedup -> sandboxed filter -> task dataset + stats.

    stats = run_challenge(PolicyBackend(engine), ["retail"], 800, pool=pool, seed=0,
                          dataset_dir=workdir / "tasks" / "retail_r1", dataset_name="retail_r1",
                          version="1.0.0")
    print(stats.summary())

Episode i of a family plays the environment with env seed `seed + i`. Every output ends as exactly
one record: kept, or rejected with a check.Reason (unparseable / no_failure_cases for outputs
that do not parse, duplicate for near-duplicates of an earlier task of the run, else check.py's
verdict), with provenance (family, env seed, backend, episode end reason).

Multi-process runs: each process plays its share of every batch (requests[p::P]) on its own
devices, the outputs are gathered (transcripts as text), every process parses and dedups all of
them in the same order, each checks its share of the parsed tasks in its own sandbox pool, and
the verdicts are gathered: every process ends with the same records, and process 0 writes the
dataset. A record does not depend on which process played or checked it.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from typing import Any, Callable, Mapping, Sequence

import jax
from absl import logging
from etils import epath

from selfchallenge_jax.challenge.backends import ChallengeRequest, ChallengerBackend, ChallengerOutput
from selfchallenge_jax.challenge.dedup import Deduplicator
from selfchallenge_jax.distributed import processes
from selfchallenge_jax.challenge.parse import NO_FAILURE_CASES, ParseError, parse_challenger_output
from selfchallenge_jax.sandbox import SandboxPool
from selfchallenge_jax.tasks.check import CheckResult, Reason, check_tasks
from selfchallenge_jax.tasks.dataset_writer import TaskDatasetWriter
from selfchallenge_jax.tasks.stored_record import TaskRecord

# Cumulative filter stages as the paper reports them (fractions of all outputs).
_VERIFIER_RAN = {Reason.KEPT.value, Reason.SOLUTION_FAILS.value, Reason.FAILURE_CASE_PASSES.value}
_SOLUTION_PASSED = {Reason.KEPT.value, Reason.FAILURE_CASE_PASSES.value}


@dataclasses.dataclass
class ChallengeStats:
  records: list[TaskRecord] = dataclasses.field(default_factory=list)   # one per output, in order
  parse_errors: collections.Counter = dataclasses.field(default_factory=collections.Counter)

  @property
  def total(self) -> int:
    return len(self.records)

  def reasons(self, family: str | None = None) -> collections.Counter:
    return collections.Counter(r.reason for r in self.records
                               if family is None or r.provenance.get("family") == family)

  @property
  def kept(self) -> list[TaskRecord]:
    return [r for r in self.records if r.keep]

  def rates(self, family: str | None = None) -> dict[str, float]:
    counts = self.reasons(family)
    total = max(sum(counts.values()), 1)
    share = lambda reasons: sum(counts[r] for r in reasons) / total
    return {"unparseable": share({Reason.UNPARSEABLE.value, Reason.NO_FAILURE_CASES.value}),
            "duplicates": share({Reason.DUPLICATE.value}),
            "verifier_runs": share(_VERIFIER_RAN), "solution_passes": share(_SOLUTION_PASSED),
            "kept": share({Reason.KEPT.value})}

  def to_json(self) -> dict[str, Any]:
    families = sorted({r.provenance.get("family", "") for r in self.records})
    return {"total": self.total, "reasons": dict(sorted(self.reasons().items())),
            "rates": self.rates(), "parse_errors": dict(sorted(self.parse_errors.items())),
            "per_family": {f: {"total": sum(self.reasons(f).values()),
                               "reasons": dict(sorted(self.reasons(f).items())),
                               "rates": self.rates(f)} for f in families}}

  def summary(self) -> str:
    rates = self.rates()
    return (f"{self.total} outputs: unparseable {rates['unparseable']:.1%}, duplicates "
            f"{rates['duplicates']:.1%}, verifier runs {rates['verifier_runs']:.1%}, + solution "
            f"passes {rates['solution_passes']:.1%}, + all failure cases fail (kept) "
            f"{rates['kept']:.1%}; reasons {dict(sorted(self.reasons().items()))}")


def run_challenge(backend: ChallengerBackend, families: Sequence[str], num_per_family: int, *,
                  pool: SandboxPool, seed: int = 0, dataset_dir: epath.PathLike | None = None,
                  dataset_name: str = "challenge", version: str = "1.0.0", batch_size: int = 32,
                  deduplicator: Deduplicator | None = None,
                  provenance: Mapping[str, Any] | None = None,
                  on_record: Callable[[ChallengerOutput, TaskRecord], None] | None = None,
                  decode: Callable[[Sequence[int]], str] | None = None) -> ChallengeStats:
  """Runs num_per_family challenger episodes per family; see the module docstring.
  on_record(output, record) is called with each output and its record, in order (e.g. to write
  the episodes' transcripts). `batch_size`: requests per process and batch. `decode` (episode
  tokens -> text) gives outputs gathered from other processes their transcripts."""
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}")
  requests = [ChallengeRequest(family, seed + i, stream_id=k * num_per_family + i)
              for k, family in enumerate(families) for i in range(num_per_family)]
  dedup = deduplicator or Deduplicator()
  stats = ChallengeStats()
  writer = None
  if dataset_dir is not None and processes.is_writer():
    writer = TaskDatasetWriter(dataset_dir, name=dataset_name, version=version,
                               provenance={"source": "challenger", "backend": backend.name,
                                           "seed": seed, **(provenance or {})})
  try:
    chunk_size = batch_size * jax.process_count()
    for start in range(0, len(requests), chunk_size):
      chunk = requests[start:start + chunk_size]
      mine = processes.share(chunk)
      outputs = _gather_outputs(backend.generate(mine, seed) if mine else [], len(chunk), decode)
      for output, record in zip(outputs, _filter(outputs, pool, dedup, stats)):
        stats.records.append(record)
        if on_record is not None:
          on_record(output, record)
        if writer is not None:
          writer.write(record)
      logging.info("challenge: %d/%d outputs; %s", len(stats.records), len(requests),
                   stats.summary())
  except BaseException:
    if writer is not None:
      writer.abort()
    raise
  if writer is not None:
    writer.close()
  logging.info("challenge done: %s", json.dumps(stats.to_json(), sort_keys=True))
  return stats


def episode_record(output: ChallengerOutput, record: TaskRecord,
                   decode: Callable[[Sequence[int]], str] | None = None) -> dict[str, Any]:
  """One challenger episode and its verdict as a JSON-able record: why a record was not kept.
  `text` is the whole conversation (decode(episode tokens)) where the backend kept the tokens."""
  text = output.transcript
  if decode is not None and output.episode is not None:
    text = decode(output.episode.tokens)
  return {**_provenance(output), "keep": record.keep, "reason": record.reason,
          "detail": record.detail, "final_message": output.text, "text": text}


def _provenance(output: ChallengerOutput) -> dict[str, Any]:
  return {"family": output.request.family, "env_seed": output.request.env_seed,
          "stream_id": output.request.stream_id, "backend": output.backend,
          "end_reason": output.end_reason, "ended_by": output.ended_by,
          "num_tool_calls": output.num_tool_calls}


def _filter(outputs: Sequence[ChallengerOutput], pool: SandboxPool, dedup: Deduplicator,
            stats: ChallengeStats) -> list[TaskRecord]:
  """One record per output, in order: parse and dedup here, then one parallel check_tasks."""
  records: list[TaskRecord | None] = [None] * len(outputs)
  to_check: list[tuple[int, Any]] = []
  for i, output in enumerate(outputs):
    provenance = _provenance(output)
    try:
      task = parse_challenger_output(output.text, env=output.request.family,
                                     env_kwargs=output.env_kwargs,
                                     provenance={"source": "challenger", **provenance})
    except ParseError as e:
      stats.parse_errors[e.reason] += 1
      reason = Reason.NO_FAILURE_CASES if e.reason == NO_FAILURE_CASES else Reason.UNPARSEABLE
      detail = str(e) if output.text is not None else f"{e}; episode ended: {output.end_reason}"
      records[i] = TaskRecord(task=None, keep=False, reason=reason.value, detail=detail,
                              provenance=provenance, raw=output.text or "")
      continue
    original = dedup.first_seen(task)
    if original is not None:
      records[i] = TaskRecord.from_check(
          CheckResult(keep=False, reason=Reason.DUPLICATE, detail=f"duplicate of {original}",
                      task=task), provenance=provenance)
      continue
    to_check.append((i, task))
  mine = processes.share(to_check)
  verdicts = [(r.keep, Reason(r.reason).value, r.detail)
              for r in (check_tasks([task for _, task in mine], pool) if mine else [])]
  for (i, task), (keep, reason, detail) in zip(to_check,
                                               processes.gather_shares(verdicts, len(to_check))):
    records[i] = TaskRecord.from_check(CheckResult(keep=keep, reason=Reason(reason), detail=detail,
                                                   task=task), provenance=_provenance(outputs[i]))
  assert all(r is not None for r in records)
  return records  # type: ignore[return-value]


def _gather_outputs(mine: list[ChallengerOutput], total: int,
                    decode: Callable[[Sequence[int]], str] | None) -> list[ChallengerOutput]:
  """Every process's outputs of a chunk's shares, in request order (one process: `mine`)."""
  if jax.process_count() == 1:
    return mine
  portable = [{"request": dataclasses.asdict(o.request), "env_kwargs": o.env_kwargs,
               "text": o.text, "end_reason": o.end_reason, "ended_by": o.ended_by,
               "num_tool_calls": o.num_tool_calls, "backend": o.backend,
               "transcript": (decode(o.episode.tokens) if decode is not None and
                              o.episode is not None else o.transcript)} for o in mine]
  return [ChallengerOutput(**{**d, "request": ChallengeRequest(**d["request"])})
          for d in processes.gather_shares(portable, total)]
