"""Runs a program as N local processes joined by jax.distributed: a multi-host run on one machine.

  python -m launch.local_multihost --num_processes=2 --devices_per_process=4 -- \\
      launch.main --config=configs/tiny_cpu.py --workdir=/tmp/mh --config.mesh=(1,-1,1)

Each process is one host: it sees `devices_per_process` simulated CPU devices, the global mesh
spans all processes' devices, and CPU collectives between processes go through gloo. After `--`
comes the program (a module, or a .py path) and its arguments. Output lines carry a [p<i>] prefix;
if any process fails, the others are stopped and this exits non-zero.
"""

import sys

from absl import app, flags

from selfchallenge_jax.distributed.local_launcher import run_local_processes

flags.DEFINE_integer("num_processes", 2, "processes (simulated hosts)")
flags.DEFINE_integer("devices_per_process", 4, "simulated CPU devices per process")
flags.DEFINE_integer("port", None, "coordinator port on 127.0.0.1 (default: a free one)")
flags.DEFINE_float("timeout_s", None, "stop every process after this many seconds")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) < 2:
    raise app.UsageError("give the program after --, e.g. -- launch.main --config=...")
  result = run_local_processes(argv[1], argv[2:], num_processes=FLAGS.num_processes,
                               devices_per_process=FLAGS.devices_per_process, port=FLAGS.port,
                               timeout_s=FLAGS.timeout_s)
  sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
  app.run(main)
