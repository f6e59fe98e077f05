"""Llama-3.1-70B self-challenging GRPO on a v5p-256 slice (128 chips of 95 GiB, 32 hosts).

  bash launch/tpu/create.sh configs/llama31_70b_v5p_256.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_70b_v5p_256.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_70b_v5p_256.py

Mesh 1 x 32 x 4 (topology v5p:4x4x8): fp32 master params + Adam moments are 1.1 TB, 8.8 GiB per
chip over 128 chips; each host samples on its own 4 chips, so tensor 4 splits the sampler's params
copy (replicated over fsdp) four ways. One 4096-token rollout per FSDP row in the update (4 tasks x
8 = 32 rows, one per host); the short context (calculation and web browsing). The rest: configs/tpu_pod.py.
"""

import ml_collections

from configs import tpu_pod


def get_config() -> ml_collections.ConfigDict:
  return tpu_pod.pod_config(
      preset="llama3.1-70b", mesh=(1, 32, 4), context="short", tasks_per_batch=4,
      tpu=dict(topology="v5p:4x4x8", accelerator_type="v5p-256", zone="us-east5-a",
               name="selfchallenge-70b-v5p256", runtime_version="v2-alpha-tpuv5",
               workdir="gs://selfchallenge-runs/llama31_70b_v5p_256"))
