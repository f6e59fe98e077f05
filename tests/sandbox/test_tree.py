"""sandbox/tree.py removes any tree a task child leaves, without recursion."""

import os

from selfchallenge_jax.sandbox import tree


def test_names_the_cleanup_uses_may_already_be_taken(tmp_path):
  """Nested directories are renamed up as ".up<N>"; a child may have taken those names, as files
  or as non-empty directories, before the cleanup runs."""
  for i in range(1, 201):
    if i % 2:
      (tmp_path / f".up{i}").write_text("x")
    else:
      (tmp_path / f".up{i}" / "inner").mkdir(parents=True)
    (tmp_path / f"d{i}" / "a" / "b").mkdir(parents=True)
  tree.empty_dir(str(tmp_path))
  assert os.listdir(tmp_path) == []


def test_deep_chain_and_symlinks(tmp_path):
  outside = tmp_path / "outside"
  outside.mkdir()
  (outside / "keep").write_text("x")
  root = tmp_path / "root"
  root.mkdir()
  fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
  for _ in range(3000):                   # by fds: the path would pass PATH_MAX
    os.mkdir("d", dir_fd=fd)
    fd, old = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
    os.close(old)
  os.close(fd)
  (root / "link").symlink_to(outside)
  tree.remove_tree(str(root))
  assert not root.exists() and (outside / "keep").exists()
