"""How every launch/ entry point ends on expected bad input: one line on stderr, exit code 1.

    if __name__ == "__main__":
      cli.run(main, "convert_hf")

Missing or unreadable files, bad configs and malformed checkpoints raise OSError / ValueError /
KeyError (and their subclasses: GGUFImportError, CheckpointError, ...) somewhere below main; the
user needs the message, not 16-54 lines of traceback. SELFCHALLENGE_TRACEBACK=1 re-raises with the
full trace (for bug reports). Anything else (a bug) keeps its traceback.
"""

from __future__ import annotations

import os
from typing import Callable

from absl import app

from selfchallenge_jax.checkpoint.manager import CheckpointError
from selfchallenge_jax.io.gcs import GcsConfigError

EXPECTED = (OSError, ValueError, KeyError, CheckpointError, GcsConfigError)
TRACEBACK_ENV = "SELFCHALLENGE_TRACEBACK"


def _message(error: BaseException) -> str:
  text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  return " ".join(lines) or type(error).__name__


def guarded(main: Callable[[list[str]], None], name: str) -> Callable[[list[str]], None]:
  """`main` with expected errors turned into SystemExit('NAME: error: ...')."""

  def wrapped(argv: list[str]) -> None:
    try:
      main(argv)
    except EXPECTED as e:
      if os.environ.get(TRACEBACK_ENV):
        raise
      kind = "missing key " if isinstance(e, KeyError) else ""
      raise SystemExit(f"{name}: error: {kind}{_message(e)} ({TRACEBACK_ENV}=1 shows the "
                       "traceback)") from None

  return wrapped


def _flags_parser(name: str) -> Callable[[list[str]], list[str]]:
  """absl's flag parsing, where a `--config.x=...` override naming a field the config does not
  have (ml_collections raises AttributeError / KeyError) is one clear line too."""

  def parse(argv: list[str]) -> list[str]:
    try:
      return app.parse_flags_with_usage(argv)
    except (AttributeError, KeyError) as e:
      if os.environ.get(TRACEBACK_ENV):
        raise
      overrides = [a.split("=", 1)[0] for a in argv[1:] if a.startswith("--config.")]
      raise SystemExit(f"{name}: error: a config override names no field of the config "
                       f"({_message(e).strip(chr(34) + chr(39))}; overrides given: {', '.join(overrides) or 'none'})"
                       ) from None
  return parse


def run(main: Callable[[list[str]], None], name: str) -> None:
  app.run(guarded(main, name), flags_parser=_flags_parser(name))
