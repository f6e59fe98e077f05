"""Prints a TPU config's `tpu` section as shell assignments for the launch/tpu/*.sh scripts.

  eval "$(python -m launch.tpu.config_env configs/llama31_8b_v5p64.py)"
  -> TPU_NAME=... TPU_ZONE=... TPU_ACCELERATOR_TYPE=... TPU_RUNTIME_VERSION=... TPU_WORKDIR=...
     TPU_TOPOLOGY=... TPU_NUM_HOSTS=... TOKENIZER_PATH=...

The config is validated first (selfchallenge_jax/aot/tpu_config.make_plan), so a bad config fails
before any TPU is created.
"""

import importlib.util
import shlex
import sys

from selfchallenge_jax.aot.tpu_config import make_plan


def load_config(path: str):
  spec = importlib.util.spec_from_file_location("tpu_run_config", path)
  if spec is None or spec.loader is None:
    raise SystemExit(f"cannot load config file {path!r}")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def shell_assignments(config) -> str:
  plan = make_plan(config)
  t = config.tpu
  values = dict(TPU_NAME=t.name, TPU_ZONE=t.zone, TPU_ACCELERATOR_TYPE=t.accelerator_type,
                TPU_RUNTIME_VERSION=t.runtime_version, TPU_WORKDIR=t.workdir,
                TPU_TOPOLOGY=t.topology, TPU_NUM_HOSTS=plan.topology.num_hosts,
                TOKENIZER_PATH=config.tokenizer.path)
  return "\n".join(f"{k}={shlex.quote(str(v))}" for k, v in values.items())


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise SystemExit("usage: python -m launch.tpu.config_env CONFIG.py")
  try:
    print(shell_assignments(load_config(argv[1])))
  except (ValueError, FileNotFoundError) as e:
    raise SystemExit(f"invalid TPU config {argv[1]}: {e}") from e


if __name__ == "__main__":
  main(sys.argv)
