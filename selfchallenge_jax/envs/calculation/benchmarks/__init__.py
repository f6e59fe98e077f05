"""Benchmark tasks of the calculation families: seeded generators and the M3ToolEval task loader.

    generate_benchmark_tasks(n=48, seed=1000)                  # mixed, round-robin over families
    generate_benchmark_tasks(n=8, seed=7, family="dna_sequencer")
    load_m3tooleval_tasks("m3tooleval_tasks.jsonl", travel_data_path=..., web_pages_path=...)

Each family's module also exposes its own `generate_benchmark_tasks(n, seed)`. Instances depend
only on (family, seed, index), so held-out evaluation uses seeds that training never saw.
"""

from __future__ import annotations

from types import ModuleType

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.benchmarks import (dna_sequencer, message_decoder,
                                                           trade_calculator, travel_itinerary)
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert, replay
from selfchallenge_jax.envs.calculation.benchmarks.m3tooleval_loader import load_m3tooleval_tasks
from selfchallenge_jax.envs.calculation.families import ALL, FAMILIES, resolve_families

GENERATORS: dict[str, ModuleType] = dict(zip(
    FAMILIES, (message_decoder, dna_sequencer, trade_calculator, travel_itinerary)))


def generate_benchmark_tasks(n: int, seed: int, family: str = ALL) -> list[BenchmarkTask]:
  """`n` tasks; with several families, family k gets tasks k, k+F, k+2F, ... of the mix."""
  families = resolve_families(family)
  counts = [len(range(k, n, len(families))) for k in range(len(families))]
  per_family = [GENERATORS[f].generate_benchmark_tasks(c, seed) for f, c in zip(families, counts)]
  mixed = []
  for i in range(n):
    mixed.append(per_family[i % len(families)][i // len(families)])
  return mixed


__all__ = ["GENERATORS", "ScriptedExpert", "generate_benchmark_tasks", "load_m3tooleval_tasks",
           "replay"]
