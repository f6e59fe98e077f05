"""Rotary position embeddings in HF's half-split layout, with Llama 3.1 frequency scaling.

Layout: the rotation pairs dimension i with i + head_dim/2 (HF's `rotate_half`), which is how HF
Llama checkpoints store q_proj/k_proj. Our weights are HF's weights, so no permutation is needed
anywhere; Meta's original interleaved layout is not supported as an input format.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from selfchallenge_jax.model.config import LlamaConfig


def inverse_frequencies(config: LlamaConfig) -> np.ndarray:
  """[head_dim/2] float32 inverse frequencies, scaled as Llama 3.1 does when configured."""
  dim = config.resolved_head_dim
  inv_freq = 1.0 / (config.rope_theta ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
  inv_freq = inv_freq.astype(np.float32)
  scaling = config.rope_scaling
  if scaling is None:
    return inv_freq
  low_freq_wavelen = scaling.original_max_position_embeddings / scaling.low_freq_factor
  high_freq_wavelen = scaling.original_max_position_embeddings / scaling.high_freq_factor
  wavelen = 2 * math.pi / inv_freq
  # Long wavelengths (low frequencies) are divided by `factor`; short ones kept; in between, a
  # linear blend in 1/wavelength space.
  scaled = np.where(wavelen > low_freq_wavelen, inv_freq / scaling.factor, inv_freq)
  smooth = ((scaling.original_max_position_embeddings / wavelen - scaling.low_freq_factor)
            / (scaling.high_freq_factor - scaling.low_freq_factor))
  smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled
  is_medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
  return np.where(is_medium, smoothed, scaled).astype(np.float32)


def apply_rope(x: jnp.ndarray, positions: jnp.ndarray, inv_freq: np.ndarray) -> jnp.ndarray:
  """Rotates x [B, T, N, head_dim] by positions [B, T]; computed in float32, returned in x.dtype."""
  angles = positions.astype(jnp.float32)[..., None] * jnp.asarray(inv_freq)   # [B, T, hd/2]
  cos = jnp.cos(angles)[:, :, None, :]
  sin = jnp.sin(angles)[:, :, None, :]
  x1, x2 = jnp.split(x.astype(jnp.float32), 2, axis=-1)
  rotated = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
  return rotated.astype(x.dtype)
