"""Removing directory trees of any shape a task child may have built, without recursion.

shutil.rmtree recurses once per level: a ~3000-deep tree made it raise RecursionError (not the
OSError its ignore_errors covers), which broke the worker's cleanup for every later task and the
pool's close(). Removing a large tree also takes time (a 3000-deep chain ~9 s of wall on a loaded
host's ext4): `move_entries` + `remove_in_background` let a worker hand it to a short-lived
process instead of making the next task wait. Stdlib only: workers run this under `python -I -S`.
"""

from __future__ import annotations

import errno
import os
import stat


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


def move_entries(src: str, parent: str) -> str | None:
  """Moves every entry of `src` into a new directory under `parent` (root's or the caller's,
  mode 0700, an unguessable name) and returns it; None when `src` was empty. One rename per
  top-level entry, whatever lies beneath: `src` keeps its inode (a Landlock rule names it)."""
  flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
  with os.scandir(src) as it:
    names = [entry.name for entry in it]
  if not names:
    return None
  trash = os.path.join(parent, ".trash-" + os.urandom(8).hex())
  os.mkdir(trash, 0o700)
  src_fd, trash_fd = os.open(src, flags), os.open(trash, flags)
  try:
    if not stat.S_ISDIR(os.fstat(trash_fd).st_mode):
      raise OSError(errno.ENOTDIR, "trash is not a directory", trash)
    for name in names:
      os.rename(name, name, src_dir_fd=src_fd, dst_dir_fd=trash_fd)
  finally:
    os.close(src_fd)
    os.close(trash_fd)
  return trash


def remove_in_background(path: str, fork=os.fork) -> None:
  """Removes `path` in a grandchild that outlives nobody's wait: the caller waits only for an
  intermediate child that forks it and exits at once (init reaps the grandchild). The grandchild
  closes every inherited descriptor first, so it can hold no pipe of the caller's open."""
  pid = fork()
  if pid == 0:
    try:
      if fork() == 0:
        try:
          os.closerange(3, os.sysconf("SC_OPEN_MAX"))
          remove_tree(path)
        finally:
          os._exit(0)
    finally:
      os._exit(0)
  os.waitpid(pid, 0)
