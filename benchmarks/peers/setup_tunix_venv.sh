#!/usr/bin/env bash
# Recreate the isolated virtualenv for the Google Tunix peer benchmarks
# (benchmarks/peers/tunix_sampler.py, benchmarks/peers/tunix_grpo.py).
#
# Usage: bash benchmarks/peers/setup_tunix_venv.sh [VENV_DIR]
#   VENV_DIR defaults to /work/venvs/tunix (or $TUNIX_VENV).
#   PYTHON   base interpreter (default /root/.pyenv/versions/3.11.7/bin/python,
#            falling back to python3.11 / python3).
#   FORCE=1  delete and rebuild an existing venv.
#
# Installs google-tunix 0.1.7 with every dependency pinned to the versions in
# tunix_requirements.txt (found working on CPU: jax/jaxlib 0.10.2, flax 0.12.8,
# optax 0.2.8, qwix 0.1.8). CPU jaxlib only; no CUDA, no torch (Tunix's
# sampler and GRPO learner don't need torch). Never touches the system
# site-packages.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${TUNIX_VENV:-/work/venvs/tunix}}"
py="${PYTHON:-/root/.pyenv/versions/3.11.7/bin/python}"
if [[ ! -x "$py" ]]; then
  py="$(command -v python3.11 || command -v python3)"
fi

if [[ -x "$venv/bin/python" && "${FORCE:-0}" != "1" ]]; then
  if "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("google-tunix") != "0.1.7")' 2>/dev/null; then
    echo "tunix venv already present at $venv (FORCE=1 to rebuild)"
    exit 0
  fi
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/tunix_requirements.txt"
"$venv/bin/python" -m pip check || true

JAX_PLATFORMS=cpu "$venv/bin/python" - <<'PY'
import importlib.metadata as m
from tunix.models.llama3 import model  # noqa: F401
from tunix.generate import sampler  # noqa: F401
from tunix.rl.grpo import grpo_learner  # noqa: F401
from tunix.rl import rl_cluster  # noqa: F401
print({p: m.version(p) for p in
       ("google-tunix", "jax", "jaxlib", "flax", "optax", "qwix",
        "orbax-checkpoint")})
PY
echo "tunix venv ready: $venv"
