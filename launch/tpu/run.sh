#!/usr/bin/env bash
# Starts `python -m launch.main` on every worker in the background, one log file per worker.
#
#   bash launch/tpu/run.sh configs/llama31_8b_v5p64.py                      # config's tpu.workdir
#   bash launch/tpu/run.sh configs/llama31_8b_v5p64.py gs://b/run2 --config.rl.steps=50
#
# Every host runs the same command. On a multi-host slice it passes --distributed, so
# launch/main.py calls jax.distributed.initialize() (auto-configured from the TPU metadata) even
# when the ssh session's environment has no TPU_WORKER_HOSTNAMES for its auto-detection.
# Logs: ~/selfchallenge_logs/<run name>-<hostname>.log (see logs.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USAGE="usage: [DRY_RUN=1] $0 CONFIG.py [gs://WORKDIR] [--config.field=value ...]"

[[ $# -ge 1 ]] || usage_error "expected the config file"
config="$1"
shift
workdir=""
if [[ $# -ge 1 && "$1" != --* ]]; then
  workdir="$1"
  shift
  [[ "${workdir}" == gs://* ]] || usage_error "workdir '${workdir}' must be a gs:// path every \
host can reach"
fi
overrides=""
for arg in "$@"; do
  [[ "${arg}" == --config.* ]] || usage_error "unexpected argument '${arg}' (overrides look \
like --config.rl.steps=50)"
  overrides+=" $(printf '%q' "${arg}")"
done
load_config "${config}"                 # validated: TPU_WORKDIR is a gs:// path
workdir="${workdir:-${TPU_WORKDIR}}"
rel_config="${config#"${REPO_ROOT}/"}"
log="${REMOTE_LOGS}/$(basename "${rel_config}" .py)-\$(hostname).log"
distributed=""
if [[ "${TPU_NUM_HOSTS}" -gt 1 ]]; then
  distributed=" --distributed"
fi
main="python3 -m launch.main --config=${rel_config} --workdir=${workdir}${distributed}${overrides}"
tpu_ssh all "mkdir -p ${REMOTE_LOGS} && cd ${REMOTE_DIR} && (setsid nohup ${main} > ${log} 2>&1 \
< /dev/null &) && echo started on \$(hostname): ${log}"
