"""Import an HF Llama checkpoint into an orbax params checkpoint.

  python -m launch.convert_hf --hf_dir=/path/to/Llama-3.1-8B-Instruct --out=gs://bucket/ckpt/llama31
"""

from absl import app, flags, logging

from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.io import gcs

flags.DEFINE_string("hf_dir", None, "HF checkpoint directory (config.json + *.safetensors)",
                    required=True)
flags.DEFINE_string("out", None, "orbax checkpoint directory to create", required=True)
flags.DEFINE_string("param_dtype", None, "store params as this dtype (default: the HF dtype)")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  gcs.configure_gcs(FLAGS.hf_dir, FLAGS.out)   # one endpoint for epath and orbax's TensorStore
  overrides = {"param_dtype": FLAGS.param_dtype} if FLAGS.param_dtype else {}
  config, params = import_hf(FLAGS.hf_dir, **overrides)
  with Checkpointer(FLAGS.out, max_to_keep=None) as ckpt:
    ckpt.save_params(0, params, {"model_config": config.to_dict(), "source": FLAGS.hf_dir})
  logging.info("wrote %s (%d params, %s)", FLAGS.out, config.num_params(), config.param_dtype)
  print(f"converted {FLAGS.hf_dir} -> {FLAGS.out} ({config.num_params():,} params)")


if __name__ == "__main__":
  app.run(main)
