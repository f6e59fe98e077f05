# Shared by the launch/tpu scripts (sourced, not run): config loading, gcloud wrapper, errors.
#
# DRY_RUN=1 prints each gcloud command (shell-quoted, prefixed "+ ") instead of running it.
# PROJECT=... adds --project to every gcloud call (default: gcloud's configured project).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

die() {
  echo "error: $*" >&2
  exit 2
}

# usage_error MESSAGE: prints the calling script's usage (its USAGE variable) and exits 2.
usage_error() {
  echo "error: $1" >&2
  echo "${USAGE}" >&2
  exit 2
}

# load_config CONFIG: validates the config and sets TPU_NAME, TPU_ZONE, TPU_ACCELERATOR_TYPE,
# TPU_RUNTIME_VERSION, TPU_WORKDIR, TPU_TOPOLOGY, TPU_NUM_HOSTS, TOKENIZER_PATH.
load_config() {
  local config="$1" assignments
  [[ -f "${config}" ]] || usage_error "config file '${config}' does not exist"
  assignments="$(cd "${REPO_ROOT}" && "${PYTHON}" -m launch.tpu.config_env "${config}")" \
    || die "could not read the tpu section of ${config}"
  eval "${assignments}"
}

# gcloud_run ARGS...: runs gcloud ARGS (or prints it under DRY_RUN=1).
gcloud_run() {
  local cmd=(gcloud "$@")
  if [[ -n "${PROJECT:-}" ]]; then
    cmd+=("--project=${PROJECT}")
  fi
  if [[ "${DRY_RUN:-0}" == "1" ]]; then
    printf '+'
    printf ' %q' "${cmd[@]}"
    printf '\n'
  else
    command -v gcloud >/dev/null || die "gcloud is not installed (use DRY_RUN=1 to print commands)"
    "${cmd[@]}"
  fi
}

# tpu_ssh WORKER COMMAND: runs COMMAND on TPU VM worker(s) WORKER ("all" or an index).
tpu_ssh() {
  gcloud_run compute tpus tpu-vm ssh "${TPU_NAME}" "--zone=${TPU_ZONE}" "--worker=$1" \
    "--command=$2"
}

# Where install.sh puts the code and run.sh the logs, on every worker.
REMOTE_DIR='~/selfchallenge_jax'
REMOTE_LOGS='~/selfchallenge_logs'
