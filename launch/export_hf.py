"""Export the params of an orbax checkpoint (training or converted) to an HF Llama checkpoint:
safetensors + config.json + the tokenizer files (tokenizer.json, tokenizer_config.json with the
chat template), so transformers' AutoTokenizer and LlamaForCausalLM load the directory.

  python -m launch.export_hf --checkpoint=WORKDIR/checkpoints/train --out=/tmp/hf_export
  python -m launch.export_hf --checkpoint=CKPT_DIR --out=/tmp/hf_export   # from launch.convert_hf

The tokenizer is taken from --tokenizer, else from beside the checkpoint (convert_hf writes it
there), else from the run workdir holding it (WORKDIR/tokenizer).
"""

from absl import flags

from launch import cli
from selfchallenge_jax.checkpoint.export import export_checkpoint
from selfchallenge_jax.io import gcs

flags.DEFINE_string("checkpoint", None, "orbax checkpoint directory", required=True)
flags.DEFINE_string("out", None, "HF output directory (local or gs://)", required=True)
flags.DEFINE_integer("step", None, "checkpoint step (default: latest)")
flags.DEFINE_string("dtype", None, "tensor dtype in the HF files (default: the params dtype)")
flags.DEFINE_string("tokenizer", None, "directory with the tokenizer files (default: found "
                    "beside the checkpoint or in its run workdir)")
FLAGS = flags.FLAGS


def main(argv):
  del argv
  gcs.configure_gcs(FLAGS.checkpoint, FLAGS.out)   # one endpoint for epath and orbax's TensorStore
  files = export_checkpoint(FLAGS.checkpoint, FLAGS.out, step=FLAGS.step, dtype=FLAGS.dtype,
                            tokenizer_dir=FLAGS.tokenizer)
  print(f"exported {FLAGS.checkpoint} -> {FLAGS.out}: {', '.join(files)}")


if __name__ == "__main__":
  cli.run(main, "export_hf")
