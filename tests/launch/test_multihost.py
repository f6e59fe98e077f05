"""Multi-host on one machine: 2 processes x 4 CPU devices (launch/local_multihost.py, gloo) train
the tiny echo-env trainer for 3 steps and match 1 process x 8 devices on the same global batches.

Each process samples its rows of the Grain pipeline's global batches on its own 4 devices with its
own sandbox pool; the update is one program on the global 8-device mesh. The 1-process run trains
on the same global batches. Tokens (hence rewards, advantages, task order) must be identical; values that
go through cross-device float32 reductions (loss, grad norm, params) may differ by reduction order
only, hence rtol = atol = 1e-5 (observed: ~1e-7 relative on metrics, ~2e-6 absolute on params
after 3 Adam steps at lr 1e-3 that move params by ~3e-3).
"""

import json
import os
import subprocess
import sys
import time

import numpy as np

from chat_fixtures import make_chat
from selfchallenge_jax.distributed.runtime import (ENV_COORDINATOR, ENV_NUM_PROCESSES,
                                                   ENV_PROCESS_ID)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(REPO, "tests", "launch", "multihost_worker.py")
TOL = 1e-5
EXACT = ("reward/mean", "reward/pass_rate", "episodes", "episode/turns_mean",
         "episode/tokens_mean", "adv/zero_variance_groups", "adv/kept_rollouts", "step")
CLOSE = ("loss", "pg_loss", "grad_norm", "entropy", "ratio_mean", "adv/abs_mean")


def _env(**overrides):
  env = {k: v for k, v in os.environ.items()
         if k not in ("XLA_FLAGS", ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID)}
  return {**env, "JAX_PLATFORMS": "cpu", **overrides}


def _load(out):
  with open(os.path.join(out, "history.json")) as f:
    run = json.load(f)
  return run, dict(np.load(os.path.join(out, "params.npz")))


def test_two_hosts_match_one_host(tmp_path):
  make_chat(tmp_path)
  common = [f"--tokenizer={tmp_path / 'tokenizer.model'}", "--steps=3"]
  one, two = tmp_path / "one", tmp_path / "two"
  # Both runs at once: the machine's cores are shared between them either way.
  reference = subprocess.Popen(
      [sys.executable, WORKER, *common, f"--out={one}"], cwd=REPO,
      env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"), text=True,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
  multi = subprocess.run(
      [sys.executable, "-m", "launch.local_multihost", "--num_processes=2",
       "--devices_per_process=4", "--timeout_s=400", "--", WORKER, *common, f"--out={two}"],
      cwd=REPO, env=_env(), text=True, capture_output=True, timeout=450)
  ref_log, _ = reference.communicate(timeout=450)
  assert reference.returncode == 0, ref_log[-3000:]
  assert multi.returncode == 0, multi.stdout[-3000:] + multi.stderr[-2000:]

  (ref, ref_params), (run, params) = _load(one), _load(two)
  assert (ref["process_count"], ref["devices"]) == (1, 8)
  assert (run["process_count"], run["devices"]) == (2, 8)
  assert len(ref["history"]) == len(run["history"]) == 3
  for step, (a, b) in enumerate(zip(ref["history"], run["history"])):
    assert a["tasks"] == b["tasks"], step                  # the same global batch
    assert len(set(a["tasks"])) == 4, a["tasks"]           # 4 tasks x 8 samples, split over the hosts
    for key in EXACT:                                      # identical tokens -> identical rewards
      assert a[key] == b[key], (step, key, a[key], b[key])
    assert 0.0 < a["reward/mean"] < 1.0 and a["adv/abs_mean"] > 0, a     # a real gradient
    for key in CLOSE:
      np.testing.assert_allclose(b[key], a[key], rtol=TOL, atol=TOL, err_msg=f"{step} {key}")
  assert ref["max_param_change"] > 100 * TOL               # the comparison below is not vacuous
  assert ref_params.keys() == params.keys()
  for name in ref_params:
    np.testing.assert_allclose(params[name], ref_params[name], rtol=TOL, atol=TOL, err_msg=name)


def test_launcher_stops_every_process_when_one_fails(tmp_path):
  program = tmp_path / "one_fails.py"
  program.write_text(
      "import os, sys, time\n"
      "pid = int(os.environ['SELFCHALLENGE_PROCESS_ID'])\n"
      "print('host', pid, 'of', os.environ['SELFCHALLENGE_NUM_PROCESSES'], "
      "os.environ['XLA_FLAGS'], flush=True)\n"
      "if pid == 1:\n  sys.exit(3)\n"
      "time.sleep(600)\n")
  t0 = time.monotonic()
  r = subprocess.run([sys.executable, "-m", "launch.local_multihost", "--num_processes=3",
                      "--devices_per_process=2", "--", str(program)], cwd=REPO, env=_env(),
                     text=True, capture_output=True, timeout=120)
  assert r.returncode != 0
  assert time.monotonic() - t0 < 60                        # the sleepers were stopped
  assert "[p1] host 1 of 3 --xla_force_host_platform_device_count=2" in r.stdout, r.stdout
  assert "[launcher] process 1 of 3 failed first" in r.stdout, r.stdout
