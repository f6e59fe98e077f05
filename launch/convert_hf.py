"""Import an HF Llama checkpoint or a llama.cpp GGUF file into an orbax params checkpoint.

  python -m launch.convert_hf --hf_dir=/path/to/Llama-3.1-8B-Instruct --out=gs://bucket/ckpt/llama31
  python -m launch.convert_hf --gguf=/path/to/SmolLM2-135M-Instruct.Q4_1.gguf --out=/tmp/smollm2

A GGUF file is dequantized (params are float32 unless --param_dtype says otherwise). The tokenizer
(tokenizer.json + tokenizer_config.json with the chat template; built from the GGUF's vocab and
merges, or copied from the HF directory) is written beside the params. Bad input stops with one
error line before anything is written.
"""

from absl import flags, logging
from etils import epath

from launch import cli
from selfchallenge_jax.checkpoint.gguf_import import GGUFImportError, import_gguf
from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.tokenizer_files import copy_tokenizer_files, has_tokenizer
from selfchallenge_jax.io import gcs
from selfchallenge_jax.io.local_copies import local_file
from selfchallenge_jax.tokenizer import load_tokenizer
from selfchallenge_jax.tokenizer.hf_tokenizer import HFTokenizer

flags.DEFINE_string("hf_dir", None, "HF checkpoint directory (config.json + *.safetensors)")
flags.DEFINE_string("gguf", None, "llama.cpp GGUF file of a Llama model (instead of --hf_dir)")
flags.DEFINE_string("out", None, "orbax checkpoint directory to create", required=True)
flags.DEFINE_string("param_dtype", None,
                    "store params as this dtype (default: the HF dtype; float32 for GGUF)")
FLAGS = flags.FLAGS


def _source() -> str:
  """The one input (--hf_dir or --gguf), or SystemExit with a one-line reason."""
  if bool(FLAGS.hf_dir) == bool(FLAGS.gguf):
    raise SystemExit("convert_hf: error: pass exactly one of --hf_dir=DIR and --gguf=FILE")
  return FLAGS.hf_dir or FLAGS.gguf


def _check_out_is_new(out: str) -> None:
  path = epath.Path(out)
  if path.exists() and (not path.is_dir() or any(path.iterdir())):
    raise SystemExit(f"convert_hf: error: --out={out} already exists and is not an empty "
                     "directory; choose a new checkpoint directory")


def main(argv):
  if len(argv) > 1:
    raise SystemExit(f"convert_hf: error: unexpected arguments {argv[1:]}")
  source = _source()
  gcs.configure_gcs(source, FLAGS.out)   # one endpoint for epath and orbax's TensorStore
  _check_out_is_new(FLAGS.out)
  overrides = {"param_dtype": FLAGS.param_dtype} if FLAGS.param_dtype else {}
  # Everything is read and checked (params and tokenizer) before anything is written.
  try:
    if FLAGS.gguf:
      with local_file(FLAGS.gguf) as local:
        config, params = import_gguf(local, **overrides)
        tokenizer = HFTokenizer.from_gguf(local)
    else:
      config, params = import_hf(FLAGS.hf_dir, **overrides)
      tokenizer = load_tokenizer(FLAGS.hf_dir) if has_tokenizer(FLAGS.hf_dir) else None
  except (GGUFImportError, ValueError, KeyError, FileNotFoundError) as e:
    raise SystemExit(f"convert_hf: error: {e}") from None
  if tokenizer is not None and tokenizer.vocab_size > config.vocab_size:
    raise SystemExit(f"convert_hf: error: {source}: the tokenizer has {tokenizer.vocab_size} ids "
                     f"but the model only {config.vocab_size} embedding rows")
  with Checkpointer(FLAGS.out, max_to_keep=None) as ckpt:
    ckpt.save_params(0, params, {"model_config": config.to_dict(), "source": source})
  # The tokenizer (and its chat template) beside the params, as launch.export_hf expects.
  if FLAGS.gguf:
    tokenizer.save(FLAGS.out)
  elif tokenizer is not None:
    copy_tokenizer_files(FLAGS.hf_dir, FLAGS.out)
  else:
    logging.warning("%s has no tokenizer files; the checkpoint has none beside it", source)
  logging.info("wrote %s (%d params, %s)", FLAGS.out, config.num_params(), config.param_dtype)
  print(f"converted {source} -> {FLAGS.out} ({config.num_params():,} params)")


if __name__ == "__main__":
  cli.run(main, "convert_hf")
