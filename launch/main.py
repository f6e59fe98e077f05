"""Runs the phases a config lists: bootstrap, eval_<tag>, challenge, train, export, report.

  python -m launch.main --config=configs/tiny_cpu.py --workdir=/tmp/selfchallenge
  python -m launch.main --config=configs/tiny_cpu.py --workdir=gs://bucket/run1 --config.rl.steps=50

On a multi-host TPU slice every host runs the same command; jax.distributed is initialized from
the TPU environment before any other JAX call. On one machine, launch/local_multihost.py runs it
as N processes (simulated hosts):

  python -m launch.local_multihost --num_processes=2 --devices_per_process=4 -- \
      launch.main --config=configs/tiny_cpu.py --workdir=/tmp/selfchallenge --config.phases=train
"""

import hashlib
import json
import os
import tempfile

import jax
from absl import flags, logging
from etils import epath
from ml_collections import config_flags

from launch import cli
from selfchallenge_jax.io import gcs

config_flags.DEFINE_config_file("config", None, "a configs/*.py file", lock_config=True)
flags.DEFINE_string("workdir", None, "run directory (local or gs://)", required=True)
flags.DEFINE_bool("distributed", None, "call jax.distributed.initialize() (default: when the "
                  "environment says this is one host of several)")
FLAGS = flags.FLAGS


def _multi_host() -> bool:
  return FLAGS.distributed if FLAGS.distributed is not None else bool(
      os.environ.get("TPU_WORKER_HOSTNAMES", "").count(",") or os.environ.get("JAX_COORDINATOR_ADDRESS"))


def check_workdir(workdir: epath.Path) -> None:
  """Fails before any compute when the workdir cannot be written (by epath, and on gs:// by the
  TensorStore driver orbax checkpoints through), or when the GCS clients disagree on the server."""
  try:
    gcs.configure_gcs(workdir)
  except gcs.GcsConfigError as e:
    raise SystemExit(f"workdir {workdir}: {e}") from e
  try:
    workdir.mkdir(parents=True, exist_ok=True)
    probe = workdir / f".write_probe_{jax.process_index()}"     # hosts may share the workdir
    probe.write_text("ok")
    probe.unlink()
    gcs.probe_checkpoint_storage(workdir)
  except (OSError, gcs.GcsConfigError) as e:
    raise SystemExit(f"workdir {workdir} is not writable: {e}") from e


def compilation_cache_dir(workdir: epath.Path) -> str:
  """Where compiled XLA programs persist: phases build their own samplers, engines and update
  programs, and recompiling the same shapes costs ~15 s a program on a CPU. Local workdirs keep
  it inside (a fresh run starts cold, a restarted one warm); gs:// workdirs use a local directory
  named after the workdir."""
  if "://" not in str(workdir):
    return str(workdir / "xla_cache")
  return os.path.join(tempfile.gettempdir(), "selfchallenge_xla_cache",
                      hashlib.sha256(str(workdir).encode()).hexdigest()[:16])


def main(argv):
  del argv
  if _multi_host():
    from selfchallenge_jax import distributed
    distributed.initialize()        # TPU auto-detection, or the local launcher's environment
  from selfchallenge_jax.pipeline.context import RunContext
  from selfchallenge_jax.pipeline.phases import phase_fn, run_phases
  from selfchallenge_jax.pipeline.run_config import check_run_config
  config = FLAGS.config
  if config is None:
    raise SystemExit("--config is required (e.g. --config=configs/tiny_cpu.py)")
  names = [p for p in config.phases.split(",") if p]
  for name in names:
    phase_fn(name)                               # unknown phases fail before any compute
  check_run_config(config)                       # so do bad values, before the workdir exists
  workdir = epath.Path(FLAGS.workdir)
  check_workdir(workdir)
  jax.config.update("jax_compilation_cache_dir", compilation_cache_dir(workdir))
  ctx = RunContext(config, workdir)   # a bad mesh or init source fails here (cli: one line)
  if jax.process_index() == 0:
    (workdir / "config.json").write_text(json.dumps(config.to_dict(), indent=2, default=str))
  logging.info("devices: %s; mesh %s", jax.devices(), dict(ctx.mesh.shape))
  run_phases(ctx, names)
  print(f"done in {ctx.elapsed():.0f}s; workdir {workdir}")


if __name__ == "__main__":
  cli.run(main, "launch.main")
