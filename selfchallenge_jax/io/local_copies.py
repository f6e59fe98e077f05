"""Local copies of remote (gs://) files for libraries that only open local paths.

ArrayRecord (C++ Riegeli file I/O), safetensors' safe_open and transformers' from_pretrained take
local paths only; etils.epath reads and writes gs:// for everything else. Local paths pass through
untouched, so local runs behave exactly as if this module did not exist.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Callable, Iterator

from etils import epath

_CHUNK = 64 << 20


def is_remote(path: epath.PathLike) -> bool:
  """True for URLs (gs://, s3://, ...), False for local paths."""
  return "://" in os.fspath(path)


def download(path: epath.PathLike, local_dir: str) -> str:
  """Copies the file `path` into `local_dir` (streamed, not held in memory); returns the copy."""
  path = epath.Path(path)
  local = os.path.join(local_dir, path.name)
  with path.open("rb") as src, open(local, "wb") as dst:
    shutil.copyfileobj(src, dst, length=_CHUNK)
  return local


@contextlib.contextmanager
def _local_copy(path: epath.PathLike, copy: Callable[[epath.Path, str], str]) -> Iterator[str]:
  """`path` itself when local; else what `copy(path, tmp_dir)` returns, removed after the block."""
  if not is_remote(path):
    yield os.fspath(path)
    return
  with tempfile.TemporaryDirectory(prefix="local_copy_") as tmp:
    yield copy(epath.Path(path), tmp)


def _download_files(path: epath.Path, local_dir: str) -> str:
  for child in path.iterdir():
    if child.is_file():
      download(child, local_dir)
  return local_dir


def local_file(path: epath.PathLike) -> contextlib.AbstractContextManager[str]:
  """A local path holding `path`'s bytes for the duration of the block."""
  return _local_copy(path, download)


def local_dir(path: epath.PathLike) -> contextlib.AbstractContextManager[str]:
  """A local directory holding the files directly under `path` for the duration of the block."""
  return _local_copy(path, _download_files)
