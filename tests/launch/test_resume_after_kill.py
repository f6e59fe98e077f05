"""Resume after kill -9: a CPU training run is SIGKILLed between checkpoints, restarted from the
last checkpoint, and the metrics of the following steps equal an uninterrupted run's.

The tasks are echo-environment Code-as-Tasks whose verifier rewards replies starting with a few
letters, so even the barely bootstrapped model gets mixed rewards, non-zero advantages and real
updates (the test checks the policy moved): resume must restore params, optimizer state, rng and
the Grain iterator, not just replay a frozen model.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from test_main import SHORT, _main
from selfchallenge_jax.tasks.check import Reason
from selfchallenge_jax.tasks.dataset_writer import TaskDatasetWriter
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.tasks.stored_record import TaskRecord

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS, EVERY = 4, 2
TRAIN = ["--config.phases=train", f"--config.rl.steps={STEPS}",
         f"--config.checkpoint.every_steps={EVERY}", "--config.rl.tasks_per_batch=2",
         "--config.rl.group_size=4", "--config.rl.overlap_next_batch=true",
         "--config.rl.kl_beta=0.04", "--config.rl.lr=3e-2", "--config.rl.warmup_steps=0",
         # One slot per rollout: with fewer, which rows share an extend-prefill depends on thread
         # timing, and XLA's CPU dots round differently per batch shape (last-bit differences).
         "--config.sampling.num_slots=8"]
VERIFIER = """
def verify(state, answer, messages):
    return answer.strip()[:1].lower() in ("a", "e", "i", "o", "t")
"""
# Wall-clock figures differ between runs; everything else must be identical.
_TIMING = ("time/", "throughput/", "verification/hidden_frac")


def _train_args(workdir):
  return [sys.executable, "-m", "launch.main", "--config=configs/tiny_cpu.py",
          f"--workdir={workdir}", *SHORT, *TRAIN]


def _write_echo_tasks(workdir, n: int = 4) -> None:
  """What the challenge phase would leave: a dataset of kept tasks."""
  writer = TaskDatasetWriter(workdir / "tasks" / "challenge", name="challenge")
  for i in range(n):
    task = CodeAsTask(task_id=f"echo-{i}", env="echo", env_kwargs={"seed": i},
                      instruction=f"Say one word ({i}).", verifier=VERIFIER,
                      solution=({"name": "respond", "arguments": {"content": "a"}},),
                      failure_cases=(({"name": "respond", "arguments": {"content": "z"}},),))
    writer.write(TaskRecord(task=task, keep=True, reason=Reason.KEPT.value))
  writer.close()


def _train_metrics(workdir) -> dict[int, dict]:
  """The last record of each train step (a killed run may have logged steps it then lost)."""
  records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
  return {r["step"]: {k: v for k, v in r.items() if not k.startswith(_TIMING)}
          for r in records if r["phase"] == "train"}


def _logged_steps(workdir) -> set[int]:
  path = workdir / "metrics.jsonl"
  if not path.exists():
    return set()
  return {json.loads(line)["step"] for line in path.read_text().splitlines()
          if line.strip() and '"train"' in line}


@pytest.mark.slow
def test_kill_9_then_resume_matches_uninterrupted(tmp_path):
  base = tmp_path / "base"
  r = _main(base, "--config.phases=bootstrap", *SHORT)
  assert r.returncode == 0, r.stderr[-3000:]
  _write_echo_tasks(base)
  whole, killed = tmp_path / "whole", tmp_path / "killed"
  shutil.copytree(base, whole)
  shutil.copytree(base, killed)

  r = _main(whole, *SHORT, *TRAIN)
  assert r.returncode == 0, r.stderr[-3000:]

  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  proc = subprocess.Popen(_train_args(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.time() + 600
  # Kill mid-way: after the step-2 checkpoint is committed and step 3 has been trained.
  while time.time() < deadline and proc.poll() is None:
    if (killed / "checkpoints" / "train" / str(EVERY)).is_dir() and EVERY + 1 in _logged_steps(
        killed):
      break
    time.sleep(0.2)
  assert proc.poll() is None, "the run ended before it could be killed mid-way"
  os.killpg(proc.pid, signal.SIGKILL)
  proc.wait()
  assert not (killed / "phases" / "train.json").exists()

  r = _main(killed, *SHORT, *TRAIN)
  assert r.returncode == 0, r.stderr[-3000:]
  assert f"resumed from {killed / 'checkpoints' / 'train'} at step {EVERY}" in r.stdout, r.stdout

  expected, got = _train_metrics(whole), _train_metrics(killed)
  assert sorted(expected) == list(range(1, STEPS + 1)) == sorted(got)
  for step in range(EVERY + 1, STEPS + 1):
    assert got[step] == expected[step], (step, got[step], expected[step])
  # The policy really moved (k3 KL to the reference > 0) and rewards were mixed.
  assert expected[STEPS]["kl"] > 0, expected[STEPS]
  assert 0 < sum(m["reward/mean"] for m in expected.values()) < STEPS, expected
