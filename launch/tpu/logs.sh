#!/usr/bin/env bash
# Shows a worker's run log (worker 0 by default); FOLLOW=1 keeps following it.
#
#   bash launch/tpu/logs.sh configs/llama31_8b_v5p64.py            # last 100 lines of worker 0
#   FOLLOW=1 bash launch/tpu/logs.sh configs/llama31_8b_v5p64.py 3 200
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USAGE="usage: [DRY_RUN=1] [FOLLOW=1] $0 CONFIG.py [WORKER|all] [LINES]"

[[ $# -ge 1 && $# -le 3 ]] || usage_error "expected CONFIG.py [WORKER|all] [LINES]"
worker="${2:-0}"
lines="${3:-100}"
[[ "${worker}" == all || "${worker}" =~ ^[0-9]+$ ]] || usage_error "worker must be a number \
or 'all', got '${worker}'"
[[ "${lines}" =~ ^[0-9]+$ ]] || usage_error "lines must be a number, got '${lines}'"
load_config "$1"
follow=""
if [[ "${FOLLOW:-0}" == "1" ]]; then
  follow=" -F"
fi
name="$(basename "$1" .py)"
tpu_ssh "${worker}" "tail -n ${lines}${follow} ${REMOTE_LOGS}/${name}-*.log"
