"""Llama-3.1-8B self-challenging GRPO on a v5p-64 slice (32 chips, 8 hosts): the first pod run.

  bash launch/tpu/create.sh configs/llama31_8b_v5p64.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_8b_v5p64.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v5p64.py

Mesh 1 x 16 x 2: FSDP over 16, tensor 2 keeps the sampler's params copy (replicated over fsdp) at
half the model per chip. 16 slots per host: a host samples on its own 4 chips, and at 64 slots the
2048-token prefill needs 113 GB of temporaries per chip (AOT, RESULTS.md); at 16 prefill and
decode fit (42 / 34 GiB). The SFT step at its largest demo batch does not yet (97 GiB, RESULTS.md). The long context: all four families. The rest: configs/tpu_pod.py.
"""

import ml_collections

from configs import tpu_pod


def get_config() -> ml_collections.ConfigDict:
  return tpu_pod.pod_config(
      preset="llama3.1-8b", mesh=(1, 16, 2), context="long", num_slots=16,
      tpu=dict(topology="v5p:2x4x4", accelerator_type="v5p-64", zone="us-east5-a",
               name="selfchallenge-8b-v5p64", runtime_version="v2-alpha-tpuv5",
               workdir="gs://selfchallenge-runs/llama31_8b_v5p64"))
