"""Removing directory trees of any shape a task child may have built, without recursion.

shutil.rmtree recurses once per level: a ~3000-deep tree made it raise RecursionError (not the
OSError its ignore_errors covers), which broke the worker's cleanup for every later task and the
pool's close(). Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import errno
import os


def empty_dir(path: str) -> None:
  """Removes everything inside `path` without recursion or long paths: a subdirectory's own
  subdirectories are renamed up into `path` before it is removed, so a 3000-deep chain is
  removed as 3000 shallow ones (shutil.rmtree recursed into it and raised RecursionError).
  Symlinks are removed, never followed."""
  flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
  top = os.open(path, flags)
  counter = 0
  try:
    while True:
      with os.scandir(top) as it:
        entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in it]
      if not entries:
        return
      for name, is_dir in entries:
        if not is_dir:
          os.unlink(name, dir_fd=top)
          continue
        sub = os.open(name, flags, dir_fd=top)
        try:
          with os.scandir(sub) as it:
            inner = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in it]
          for child_name, child_is_dir in inner:
            if not child_is_dir:
              os.unlink(child_name, dir_fd=sub)
              continue
            while True:
              counter += 1
              try:
                os.rename(child_name, f".up{counter}", src_dir_fd=sub, dst_dir_fd=top)
                break
              except OSError as e:
                # The name is taken (a child may have made ".up1" a file or a full directory):
                # try the next one.
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                  raise
        finally:
          os.close(sub)
        os.rmdir(name, dir_fd=top)
  finally:
    os.close(top)


def remove_tree(path: str) -> None:
  """`path` and everything in it; a missing path is fine, other errors are logged by the caller."""
  try:
    empty_dir(path)
    os.rmdir(path)
  except FileNotFoundError:
    pass
