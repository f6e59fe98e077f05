"""Orbax checkpoint -> HF checkpoint (safetensors, config.json and the tokenizer files), restoring
the params into host (CPU) memory; and the check that transformers loads an export as ours."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np
from absl import logging
from etils import epath
from jax.sharding import Mesh

from selfchallenge_jax.checkpoint.hf_export import export_hf, on_host
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.tokenizer_files import copy_tokenizer_files, find_tokenizer_dir
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params
from selfchallenge_jax.model.partitioning import param_shardings


def load_params(checkpoint_dir: epath.PathLike, mesh: Mesh | None = None,
                step: int | None = None) -> tuple[LlamaConfig, Any, dict[str, Any]]:
  """(config, params, metadata). With `mesh`: params restored straight into their training
  shardings on it (each process reads only the shards its devices hold; never a whole copy on one
  device or host). Without: onto this host's CPU (export), whatever mesh saved them."""
  ckpt = Checkpointer(checkpoint_dir, create=False)
  try:
    metadata = ckpt.metadata(step)
    config = LlamaConfig.from_dict(metadata["model_config"])
    if mesh is None:
      cpu = jax.sharding.SingleDeviceSharding(jax.local_devices(backend="cpu")[0])
      shardings = jax.tree.map(lambda _: cpu, abstract_params(config))
    else:
      shardings = param_shardings(config, mesh)
    target = jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                          abstract_params(config), shardings)
    params, metadata = ckpt.restore_params(target, step)
  finally:
    ckpt.close()
  return config, params, metadata


def load_params_on_host(checkpoint_dir: epath.PathLike, step: int | None = None):
  """(config, params, metadata) with params on the host CPU device, whatever mesh saved them."""
  return load_params(checkpoint_dir, None, step)


def export_checkpoint(checkpoint_dir: epath.PathLike, out_dir: epath.PathLike, *,
                      step: int | None = None, dtype: str | None = None,
                      tokenizer_dir: epath.PathLike | None = None) -> list[str]:
  """Writes the HF checkpoint; returns the file names. The tokenizer comes from `tokenizer_dir`,
  else from beside the checkpoint or its run workdir (tokenizer_files.find_tokenizer_dir)."""
  config, params, _ = load_params_on_host(checkpoint_dir, step)
  tokenizer_dir = tokenizer_dir or find_tokenizer_dir(checkpoint_dir)
  files = export_hf(params, config, out_dir, dtype=dtype)
  if tokenizer_dir is None:
    logging.warning("no tokenizer found for %s: the export has weights and config only",
                    checkpoint_dir)
    return files
  return files + copy_tokenizer_files(tokenizer_dir, out_dir)


def policy_logits(params: Any, config: LlamaConfig, token_ids: Sequence[int]) -> np.ndarray:
  """Our logits [1, T, V] for one token sequence, on this host, from params on any mesh (also
  spanning processes: then every process must call)."""
  from selfchallenge_jax.model import llama  # pylint: disable=import-outside-toplevel
  tokens = np.asarray([list(token_ids)], np.int32)
  positions = np.arange(tokens.shape[1], dtype=np.int32)[None]
  logits = jax.jit(llama.forward, static_argnums=4)(params, tokens, positions,
                                                     np.ones_like(tokens, bool), config)
  return on_host(logits).astype(np.float32, copy=False)


def check_hf_export(hf_dir: str, our_logits: np.ndarray, token_ids: Sequence[int]
                    ) -> dict[str, Any]:
  """Loads the export (a local directory) with transformers and compares its logits on
  `token_ids` with ours (policy_logits): max |logit difference| and, when the export has a
  tokenizer.json, whether transformers' tokenizer encodes the decoded text to the same ids.
  Needs torch + transformers."""
  import torch  # pylint: disable=import-outside-toplevel  (not on TPU hosts: callers check)
  import transformers  # pylint: disable=import-outside-toplevel

  model = transformers.LlamaForCausalLM.from_pretrained(hf_dir).float().eval()
  with torch.no_grad():
    ref = model(input_ids=torch.tensor([list(token_ids)])).logits.float().numpy()
  out = {"max_abs_logit_diff": float(np.abs(our_logits - ref).max())}
  if (epath.Path(hf_dir) / "tokenizer.json").exists():
    tokenizer = transformers.AutoTokenizer.from_pretrained(hf_dir)
    text = tokenizer.decode(list(token_ids))
    out["tokenizer_ids_equal"] = tokenizer(text, add_special_tokens=False).input_ids == list(
        token_ids)
  return out
