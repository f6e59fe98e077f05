"""Where an airline database comes from: tau-bench's files in a directory, or the seeded generator."""

from __future__ import annotations

import functools
import json

from selfchallenge_jax.envs.airline.generator import generate_airline_data
from selfchallenge_jax.envs.tau_common import load_tables_cached

AIRLINE_TABLES = ("users", "flights", "reservations")


@functools.lru_cache(maxsize=4)
def _generated_json(seed: int) -> str:
  return json.dumps(generate_airline_data(seed))


def airline_data_json(seed: int = 0, data_dir: str | None = None) -> str:
  """The initial database as JSON text: tau-bench's files if `data_dir`, else generated."""
  if data_dir is not None:
    return load_tables_cached(data_dir, AIRLINE_TABLES, "airline")
  return _generated_json(seed)
