"""Orbax checkpoint -> HF checkpoint, restoring the params into host (CPU) memory."""

from __future__ import annotations

import jax
from etils import epath

from selfchallenge_jax.checkpoint.hf_export import export_hf
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.model.config import LlamaConfig
from selfchallenge_jax.model.llama import abstract_params


def load_params_on_host(checkpoint_dir: epath.PathLike, step: int | None = None):
  """(config, params, metadata) with params on the host CPU device, whatever mesh saved them."""
  ckpt = Checkpointer(checkpoint_dir, create=False)
  try:
    metadata = ckpt.metadata(step)
    config = LlamaConfig.from_dict(metadata["model_config"])
    cpu = jax.sharding.SingleDeviceSharding(jax.local_devices(backend="cpu")[0])
    target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=cpu),
                          abstract_params(config))
    params, metadata = ckpt.restore_params(target, step)
  finally:
    ckpt.close()
  return config, params, metadata


def export_checkpoint(checkpoint_dir: epath.PathLike, out_dir: epath.PathLike, *,
                      step: int | None = None, dtype: str | None = None) -> list[str]:
  config, params, _ = load_params_on_host(checkpoint_dir, step)
  return export_hf(params, config, out_dir, dtype=dtype)
