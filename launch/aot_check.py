"""AOT-compiles a TPU config's programs for its slice on any machine, and checks the bars.

  bash launch/tpu/setup_aot_venv.sh          # once: a venv with libtpu (jax[tpu])
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v5p64.py \
      --json_out=benchmarks/results/aot_llama31_8b_v5p64.json

Compiles the GRPO update (and the reference-logprob program when kl_beta > 0), the sampler's
prefill and a decode chunk for the config's topology (jax.experimental.topologies: no TPU needed,
libtpu is), prints per-chip memory against HBM, compiled FLOPs and HBM bytes with roofline time
estimates, and exits 1 when a bar is not met. --markdown prints RESULTS.md rows of saved JSONs.
"""

import json
import sys

from absl import flags
from etils import epath
from ml_collections import config_flags

from launch import cli

config_flags.DEFINE_config_file("config", None, "a configs/*.py file with a `tpu` section")
flags.DEFINE_string("json_out", None, "write the result as JSON here")
flags.DEFINE_string("compilation_cache_dir", None, "JAX persistent compilation cache: a rerun "
                    "reuses compiled programs whose HLO did not change")
flags.DEFINE_multi_string("markdown", None, "print a markdown table of these JSON results, "
                          "compile nothing")
FLAGS = flags.FLAGS

LIBTPU_HINT = "libtpu not installed: pip install -e .[tpu] (or bash launch/tpu/setup_aot_venv.sh)"


def libtpu_available() -> bool:
  try:
    import libtpu  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  except ImportError:
    return False
  return True


def topology_devices(topology):
  """The devices of a TPU slice (a chips.Topology), compiled for without the hardware."""
  if not libtpu_available():
    raise SystemExit(LIBTPU_HINT)
  from jax.experimental import topologies  # pylint: disable=import-outside-toplevel
  extra = {"chip_config_name": topology.chip.aot_chip_config} if topology.chip.aot_chip_config else {}
  return topologies.get_topology_desc(platform="tpu", topology_name=topology.name, **extra).devices


def config_name(path: str) -> str:
  return epath.Path(path).stem


def main(argv):
  del argv
  from selfchallenge_jax.aot import report    # pylint: disable=import-outside-toplevel
  if FLAGS.markdown:
    print(report.markdown_table([json.loads(epath.Path(p).read_text()) for p in FLAGS.markdown]))
    return
  config = FLAGS.config
  if config is None:
    raise SystemExit("--config is required (e.g. --config=configs/llama31_8b_v5p64.py)")
  from selfchallenge_jax.aot.check import run_check  # pylint: disable=import-outside-toplevel
  from selfchallenge_jax.aot.tpu_config import make_plan  # pylint: disable=import-outside-toplevel
  try:
    plan = make_plan(config)               # a bad config fails here, before libtpu is needed
  except ValueError as e:
    raise SystemExit(f"invalid TPU config: {e}") from e
  if FLAGS.compilation_cache_dir:
    import jax  # pylint: disable=import-outside-toplevel
    jax.config.update("jax_compilation_cache_dir", FLAGS.compilation_cache_dir)
  name = config_name(flags.FLAGS["config"].config_filename)
  result = run_check(config, topology_devices(plan.topology), name).to_json()
  print(report.format_report(result))
  if FLAGS.json_out:
    out = epath.Path(FLAGS.json_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
  if result["failures"]:
    sys.exit(1)


if __name__ == "__main__":
  cli.run(main, "aot_check")
