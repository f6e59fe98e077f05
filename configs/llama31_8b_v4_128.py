"""Llama-3.1-8B self-challenging GRPO on a v4-128 slice (64 chips of 32 GiB, 16 hosts).

  bash launch/tpu/create.sh configs/llama31_8b_v4_128.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_8b_v4_128.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v4_128.py

Mesh 1 x 16 x 4 (topology v4:4x4x4), one 4096-token rollout per FSDP row in the update, the short
context (calculation and web browsing). The rest: configs/tpu_pod.py.
"""

import ml_collections

from configs import tpu_pod


def get_config() -> ml_collections.ConfigDict:
  return tpu_pod.pod_config(
      preset="llama3.1-8b", mesh=(1, 16, 4), context="short",
      tpu=dict(topology="v4:4x4x4", accelerator_type="v4-128", zone="us-central2-b",
               name="selfchallenge-8b-v4-128", runtime_version="tpu-ubuntu2204-base",
               workdir="gs://selfchallenge-runs/llama31_8b_v4_128"))
