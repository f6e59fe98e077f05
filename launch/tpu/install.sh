#!/usr/bin/env bash
# Puts the code on every worker of the slice and installs it with the TPU extra.
#
#   bash launch/tpu/install.sh configs/llama31_8b_v5p64.py                 # this checkout's HEAD
#   bash launch/tpu/install.sh configs/llama31_8b_v5p64.py URL [REF]       # git clone on workers
#   TOKENIZER_SRC=gs://b/llama3/tokenizer.model bash launch/tpu/install.sh CONFIG   # + tokenizer
#     (only for a config with init=scratch and a tokenizer.path; pretrained inits bring their own)
#
# Without a URL, `git archive HEAD` of this checkout is copied (committed files only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USAGE="usage: [DRY_RUN=1] [TOKENIZER_SRC=gs://...] $0 CONFIG.py [GIT_URL [GIT_REF]]"

[[ $# -ge 1 && $# -le 3 ]] || usage_error "expected CONFIG.py [GIT_URL [GIT_REF]]"
load_config "$1"
if [[ -n "${TOKENIZER_SRC:-}" && -z "${TOKENIZER_PATH}" ]]; then
  usage_error "TOKENIZER_SRC given, but $1 has no tokenizer.path: its tokenizer comes from its init checkpoint"
fi
url="${2:-}"
ref="${3:-main}"
if [[ -n "${url}" ]]; then
  fetch="rm -rf ${REMOTE_DIR} && git clone --depth=1 --branch=${ref} ${url} ${REMOTE_DIR}"
else
  archive="${TMPDIR:-/tmp}/selfchallenge_jax-$$.tar.gz"
  if [[ "${DRY_RUN:-0}" != "1" ]]; then
    git -C "${REPO_ROOT}" archive --format=tar.gz -o "${archive}" HEAD
  fi
  gcloud_run compute tpus tpu-vm scp "${archive}" "${TPU_NAME}:selfchallenge_jax.tar.gz" \
    "--zone=${TPU_ZONE}" --worker=all
  fetch="rm -rf ${REMOTE_DIR} && mkdir -p ${REMOTE_DIR}"
  fetch+=" && tar -xzf ~/selfchallenge_jax.tar.gz -C ${REMOTE_DIR}"
fi
install="${fetch} && cd ${REMOTE_DIR} && python3 -m pip install -U pip"
install+=" && python3 -m pip install -e '.[tpu]'"
if [[ -n "${TOKENIZER_SRC:-}" ]]; then
  install+=" && mkdir -p $(dirname "${TOKENIZER_PATH}")"
  install+=" && gcloud storage cp ${TOKENIZER_SRC} ${TOKENIZER_PATH}"
fi
tpu_ssh all "${install}"
