"""XLA compiler options for the forward+backward training programs (GRPO update, SFT step).

On XLA:CPU, routing the dots through YNNPACK makes bench-56M's forward+backward step ~9% faster
(benchmarks/RESULTS.md, train step, paired runs), but slows forward-only programs (the sampler's
decode and extends, the reference logprobs), so only the update and the SFT step ask for it, per
jit (`compiler_options`), not through the process-wide XLA_FLAGS. Other backends get no options.
"""

from __future__ import annotations

from collections.abc import Iterable

import jax

CPU_YNN_DOTS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_DOT"}


def training_compiler_options(devices: Iterable[jax.Device] | None = None) -> dict[str, str]:
  """The `compiler_options` of a training jit running on `devices` (default: jax.devices())."""
  devices = list(jax.devices() if devices is None else devices)
  if devices and all(d.platform == "cpu" for d in devices):
    return dict(CPU_YNN_DOTS)
  return {}
