"""The whole main job in 2 processes x 4 CPU devices gives the figures of 1 process x 8 devices.

Every phase of configs/tiny_cpu.py, cut to seconds: bootstrap (tokenizer + SFT), eval_before,
challenge, train, eval_after, export, report. With two processes, bootstrap's SFT batches and the
GRPO updates are global arrays over both; eval and challenger episodes and sandbox checks are
split by process and gathered; process 0 writes the run's files, the export's tensors are gathered
one at a time. Both runs must score the same episodes the same way, keep the same tasks, train on
the same batches and export the same weights.

The challenger is the scripted one, so training has kept tasks; the tiny policy (a few SFT steps)
solves none of them, so the GRPO steps have zero advantages: multi-host training with a real
gradient is tests/launch/test_multihost.py's subject. Here the weights differ from their random
init through the bootstrap's SFT steps, which run on the global batch in both runs.
"""

import json
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

from selfchallenge_jax.distributed.runtime import (ENV_COORDINATOR, ENV_NUM_PROCESSES,
                                                   ENV_PROCESS_ID)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAGS = [
    "--config=configs/tiny_cpu.py", "--config.tokenizer.vocab_size=2048",
    "--config.bootstrap.steps=3", "--config.bootstrap.executor_demos_per_family=8",
    "--config.bootstrap.challenger_demos_per_family=4",
    # One SFT shape (one compile) of 8 rows: one per device (fewer rows would be replicated).
    "--config.bootstrap.batch_tokens=8192", "--config.bootstrap.max_len=1024",
    "--config.bootstrap.length_multiple=1024",
    "--config.eval.tasks_per_family=2", "--config.eval.k=2",
    "--config.challenge.backend=scripted", "--config.challenge.tasks_per_family=3",
    "--config.rl.steps=2", "--config.rl.tasks_per_batch=2", "--config.rl.group_size=4",
    "--config.sampling.num_slots=4", "--config.sampling.max_turns=3",
    "--config.sandbox.num_workers=1", "--config.checkpoint.every_steps=1",
]
TOL = 1e-5      # float32 reductions in another order (see test_multihost.py)
TIMING = {"wall_s", "phases"}


def _env(**overrides):
  env = {k: v for k, v in os.environ.items()
         if k not in ("XLA_FLAGS", ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID)}
  return {**env, "JAX_PLATFORMS": "cpu", **overrides}


def _lines(path):
  with open(path) as f:
    return [json.loads(line) for line in f]


def _json(path):
  with open(path) as f:
    return json.load(f)


def test_main_job_on_two_hosts_matches_one_host(tmp_path):
  one, two = tmp_path / "one", tmp_path / "two"
  reference = subprocess.Popen(
      [sys.executable, "-m", "launch.main", *FLAGS, f"--workdir={one}"], cwd=REPO,
      env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"), text=True,
      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
  multi = subprocess.run(
      [sys.executable, "-m", "launch.local_multihost", "--num_processes=2",
       "--devices_per_process=4", "--timeout_s=900", "--", "launch.main", *FLAGS,
       f"--workdir={two}"], cwd=REPO, env=_env(), text=True, capture_output=True, timeout=950)
  ref_log, _ = reference.communicate(timeout=950)
  assert reference.returncode == 0, ref_log[-3000:]
  assert multi.returncode == 0, multi.stdout[-4000:] + multi.stderr[-2000:]
  assert "[p1]" in multi.stdout and "done in" in multi.stdout

  # The report's figures (all but timings), the evaluations, the challenge, per episode.
  a, b = _json(one / "report.json"), _json(two / "report.json")
  assert {k: v for k, v in a.items() if k not in TIMING} == \
      {k: v for k, v in b.items() if k not in TIMING}
  assert a["challenge"]["kept"] == 6 and a["train"]["steps"] == 2
  for name in ("eval_before", "eval_after"):
    assert _json(one / f"{name}.json") == _json(two / f"{name}.json")
    episodes = _lines(one / f"{name}_episodes.jsonl")
    assert len(episodes) == 8 and episodes == _lines(two / f"{name}_episodes.jsonl")
  assert _json(one / "challenge_stats.json") == _json(two / "challenge_stats.json")
  assert _lines(one / "challenge_episodes.jsonl") == _lines(two / "challenge_episodes.jsonl")

  # Training: the same global batches, hence the same episodes and rewards.
  train = [[r for r in _lines(run / "metrics.jsonl") if r.get("phase") == "train"]
           for run in (one, two)]
  assert len(train[0]) == len(train[1]) == 2
  for x, y in zip(*train):
    for key in ("episodes", "reward/mean", "episode/tokens_mean", "episode/turns_mean"):
      assert x[key] == y[key], (key, x[key], y[key])
    np.testing.assert_allclose(y["loss"], x["loss"], rtol=TOL, atol=TOL)

  # The bootstrap SFT ran on the global batch in both: the same losses and the same exported
  # weights (which SFT moved away from their init).
  boot = [_json(run / "phases" / "bootstrap.json") for run in (one, two)]
  np.testing.assert_allclose([boot[1]["first_loss"], boot[1]["final_loss"]],
                             [boot[0]["first_loss"], boot[0]["final_loss"]], rtol=TOL)
  assert boot[0]["final_loss"] < boot[0]["first_loss"] - 0.1
  assert sorted(os.listdir(one / "hf")) == sorted(os.listdir(two / "hf"))
  ref, got = load_file(one / "hf" / "model.safetensors"), load_file(two / "hf" / "model.safetensors")
  assert ref.keys() == got.keys()
  for key in ref:
    np.testing.assert_allclose(got[key], ref[key], rtol=TOL, atol=TOL, err_msg=key)
  assert "transformers loads it" in multi.stdout
