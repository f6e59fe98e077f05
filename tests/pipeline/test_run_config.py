"""Every shipped config passes the start-up check; bad values are caught by it, naming the field."""

import importlib.util
import pathlib

import pytest

from configs import tiny_cpu
from selfchallenge_jax.pipeline.run_config import check_run_config

CONFIGS = sorted(p for p in (pathlib.Path(__file__).resolve().parents[2] / "configs").glob("*.py")
                 if p.name not in ("__init__.py", "tpu_pod.py"))


def _load(path):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_pass(path):
  check_run_config(_load(path))


@pytest.mark.parametrize("section, field, value, match", [
    ("sampling", "num_slots", 0, "num_slots=0"),
    ("sampling", "temperature", -1.0, "temperature must be >= 0"),
    ("sampling", "cache_len", 0, "sampling.cache_len=0"),
    ("challenge", "backend", "oracle", "challenge.backend='oracle'"),
    ("eval", "k", 0, "eval.k=0"),
    ("rl", "tasks_per_batch", 0, "rl.tasks_per_batch=0"),
    ("rl", "algorithm", "ppo", "unknown algorithm 'ppo'"),
    ("rl", "grad_accum_steps", 0, "grad_accum_steps must be >= 1"),
    ("rl", "loss_agg", "sum", "loss_agg='sum'"),
    ("bootstrap", "batch_tokens", 0, "bootstrap.batch_tokens=0"),
])
def test_bad_values_are_named(section, field, value, match):
  config = tiny_cpu.get_config()
  config[section][field] = value
  with pytest.raises(ValueError, match=match):
    check_run_config(config)


def test_an_unknown_sampling_field_is_named():
  config = tiny_cpu.get_config()
  config.sampling.top_kk = 5
  with pytest.raises(ValueError, match=r"config.sampling sets \['top_kk'\]"):
    check_run_config(config)
