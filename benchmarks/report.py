"""What every benchmark does with its result: print the JSON and optionally write it to a file;
and how a peer (Tunix, in its own venv) is run: a script whose last stdout line is its JSON."""

import json
import os
import subprocess


def emit(result: dict, out_path: str = "") -> None:
  """Prints `result` as indented JSON; also writes it to `out_path` when one is given."""
  text = json.dumps(result, indent=2)
  print(text)
  if out_path:
    with open(out_path, "w") as f:
      f.write(text + "\n")


def run_peer(python: str, script: str, args: list[str], timeout_s: float) -> dict | None:
  """Runs benchmarks/peers/`script` with the peer venv's `python` (CPU only). None when that venv
  is not installed; {"error": stderr tail} when the peer fails, so the run still reports ours."""
  path = os.path.join(os.path.dirname(__file__), "peers", script)
  if not (os.path.exists(python) and os.path.exists(path)):
    return None
  proc = subprocess.run([python, path, *args], capture_output=True, text=True,
                        env={**os.environ, "JAX_PLATFORMS": "cpu"}, timeout=timeout_s)
  if proc.returncode != 0:
    return {"error": proc.stderr[-2000:]}
  return json.loads(proc.stdout.strip().splitlines()[-1])
