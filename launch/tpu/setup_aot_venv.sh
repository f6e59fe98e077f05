#!/usr/bin/env bash
# A venv with libtpu for launch/aot_check.py on a machine without TPUs (CI, a laptop).
#
#   bash launch/tpu/setup_aot_venv.sh [VENV_DIR]          # default /work/venvs/tpu
#   VENV_DIR/bin/python -m launch.aot_check --config=configs/llama31_8b_v5p64.py
#
# libtpu goes into its own venv, never the system python: with libtpu importable, JAX's backend
# initialization changes for every other program. --system-site-packages reuses the installed
# project dependencies; the check below fails if pip moved jax or jaxlib off the pinned version.
set -euo pipefail
JAX_VERSION=0.10.2
venv="${1:-/work/venvs/tpu}"
python="${PYTHON:-python3}"

"${python}" -m venv "${venv}" --system-site-packages
"${venv}/bin/pip" install "jax[tpu]==${JAX_VERSION}"
"${venv}/bin/python" - "${JAX_VERSION}" <<'PY'
import sys

import jax
import jaxlib
import libtpu  # noqa: F401

want = sys.argv[1]
got = {"jax": jax.__version__, "jaxlib": jaxlib.__version__}
if any(v != want for v in got.values()):
  raise SystemExit(f"expected jax/jaxlib {want}, the venv has {got}")
print(f"ok: jax/jaxlib {want} with libtpu in {sys.prefix}")
PY
