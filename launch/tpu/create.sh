#!/usr/bin/env bash
# Creates the TPU VM slice a config names (accelerator type, zone, runtime version).
#
#   bash launch/tpu/create.sh configs/llama31_8b_v5p64.py
#   QUEUED=1 SPOT=1 bash launch/tpu/create.sh configs/llama31_8b_v5p64.py   # queued resource
#   DRY_RUN=1 bash launch/tpu/create.sh configs/llama31_8b_v5p64.py          # print, don't run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USAGE="usage: [DRY_RUN=1] [QUEUED=1] [SPOT=1] [PROJECT=p] $0 CONFIG.py"

[[ $# -eq 1 ]] || usage_error "expected exactly one argument, the config file"
load_config "$1"
extra=()
if [[ "${SPOT:-0}" == "1" ]]; then
  extra+=(--spot)
fi
if [[ "${QUEUED:-0}" == "1" ]]; then
  gcloud_run compute tpus queued-resources create "${TPU_NAME}" "--node-id=${TPU_NAME}" \
    "--zone=${TPU_ZONE}" "--accelerator-type=${TPU_ACCELERATOR_TYPE}" \
    "--runtime-version=${TPU_RUNTIME_VERSION}" "${extra[@]}"
else
  gcloud_run compute tpus tpu-vm create "${TPU_NAME}" "--zone=${TPU_ZONE}" \
    "--accelerator-type=${TPU_ACCELERATOR_TYPE}" "--version=${TPU_RUNTIME_VERSION}" "${extra[@]}"
fi
