"""A checkpoint's tokenizer files travel with it: import writes them beside the params, export
writes them beside the safetensors, so transformers' AutoTokenizer loads the result.

Files: tokenizer.json + tokenizer_config.json (with the chat template; byte-level BPE: SmolLM2,
Llama 3 HF), chat_template.jinja (newer transformers save the template there), tokenizer.model
(SentencePiece / tiktoken), special_tokens_map.json.
"""

from __future__ import annotations

from etils import epath

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                   "tokenizer.model", "special_tokens_map.json")


def has_tokenizer(directory: epath.PathLike) -> bool:
  directory = epath.Path(directory)
  return any((directory / name).exists() for name in ("tokenizer.json", "tokenizer.model"))


def copy_tokenizer_files(src: epath.PathLike, dst: epath.PathLike) -> list[str]:
  """Copies the tokenizer files `src` has into `dst`; returns their names (FileNotFoundError if
  `src` has no tokenizer)."""
  src, dst = epath.Path(src), epath.Path(dst)
  if not has_tokenizer(src):
    raise FileNotFoundError(f"{src} has no tokenizer.json or tokenizer.model")
  dst.mkdir(parents=True, exist_ok=True)
  names = [name for name in TOKENIZER_FILES if (src / name).exists()]
  for name in names:
    (dst / name).write_bytes((src / name).read_bytes())
  return names


def find_tokenizer_dir(checkpoint_dir: epath.PathLike) -> epath.Path | None:
  """Where a checkpoint's tokenizer is: beside it (launch.convert_hf output), or in the run
  workdir that holds it (WORKDIR/checkpoints/<name> -> WORKDIR/tokenizer); None if neither."""
  checkpoint_dir = epath.Path(checkpoint_dir)
  for candidate in (checkpoint_dir, checkpoint_dir.parent.parent / "tokenizer"):
    if has_tokenizer(candidate):
      return candidate
  return None
