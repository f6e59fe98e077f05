#!/usr/bin/env bash
# Deletes the config's TPU VM slice (QUEUED=1: the queued resource and its node).
#
#   bash launch/tpu/delete.sh configs/llama31_8b_v5p64.py
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USAGE="usage: [DRY_RUN=1] [QUEUED=1] $0 CONFIG.py"

[[ $# -eq 1 ]] || usage_error "expected exactly one argument, the config file"
load_config "$1"
if [[ "${QUEUED:-0}" == "1" ]]; then
  gcloud_run compute tpus queued-resources delete "${TPU_NAME}" "--zone=${TPU_ZONE}" --force \
    --quiet
else
  gcloud_run compute tpus tpu-vm delete "${TPU_NAME}" "--zone=${TPU_ZONE}" --quiet
fi
