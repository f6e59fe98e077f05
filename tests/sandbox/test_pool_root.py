"""Pools killed without closing leave their temp root behind; the next pool removes it, and never
the root of a pool that is alive or a directory that is not a pool's."""

import os
import signal
import subprocess
import sys
import textwrap

from selfchallenge_jax.sandbox.pool_root import LOCK_NAME, PREFIX, PoolRoot, remove_stale_roots

_HOLDER = textwrap.dedent("""
    import sys, time
    from selfchallenge_jax.sandbox.pool_root import PoolRoot
    root = PoolRoot(sys.argv[1])
    print(root.path, flush=True)
    time.sleep(600)
""")


def _start_holder(parent):
  proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(parent)], stdout=subprocess.PIPE,
                          text=True)
  return proc, proc.stdout.readline().strip()


def test_root_of_a_killed_pool_is_removed_and_a_live_one_kept(tmp_path):
  dead, dead_root = _start_holder(tmp_path)
  alive, alive_root = _start_holder(tmp_path)
  try:
    os.makedirs(os.path.join(dead_root, "w0", "deep", "er"))
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    assert os.path.isdir(dead_root)
    mine = PoolRoot(str(tmp_path))
    assert not os.path.exists(dead_root)
    assert os.path.isfile(os.path.join(alive_root, LOCK_NAME))
    assert os.path.isdir(mine.path)
    mine.remove()
    mine.remove()                       # idempotent
    assert not os.path.exists(mine.path)
  finally:
    alive.kill()
    alive.wait()
  assert remove_stale_roots(str(tmp_path)) == [alive_root]


def test_directories_that_are_not_dead_pools_are_left_alone(tmp_path):
  no_lock = tmp_path / f"{PREFIX}old"          # an older version's root: no lock file
  no_lock.mkdir()
  target = tmp_path / "elsewhere"
  target.mkdir()
  (target / LOCK_NAME).write_text("")
  link = tmp_path / f"{PREFIX}link"
  link.symlink_to(target)
  other = tmp_path / "not_a_pool"
  other.mkdir()
  (other / LOCK_NAME).write_text("")
  assert remove_stale_roots(str(tmp_path)) == []
  assert no_lock.is_dir() and target.is_dir() and link.is_symlink() and other.is_dir()
