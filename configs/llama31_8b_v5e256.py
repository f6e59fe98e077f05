"""Llama-3.1-8B self-challenging GRPO on a v5e-256 slice (256 chips of 16 GiB, 64 hosts).

  bash launch/tpu/create.sh configs/llama31_8b_v5e256.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_8b_v5e256.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v5e256.py

16 GiB per chip, 4 chips per host: mesh 1 x 64 x 4 (each host samples on its own 4 chips, so
tensor is at most 4; it splits the sampler's params copy four ways), 32 slots per host (the KV
cache of 32 x 4096 tokens is 4 GiB per chip), one 4096-token rollout per FSDP row in the update
(8 tasks x 8 = 64 rows, one per host), the short context (calculation and web browsing).
The rest: configs/tpu_pod.py.
"""

import ml_collections

from configs import tpu_pod


def get_config() -> ml_collections.ConfigDict:
  return tpu_pod.pod_config(
      preset="llama3.1-8b", mesh=(1, 64, 4), context="short", num_slots=32, tasks_per_batch=8,
      tpu=dict(topology="v5e:16x16", accelerator_type="v5litepod-256", zone="us-west4-a",
               name="selfchallenge-8b-v5e256", runtime_version="v2-alpha-tpuv5-lite",
               workdir="gs://selfchallenge-runs/llama31_8b_v5e256"))
