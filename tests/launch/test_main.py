"""The launch CLI: a shortened run of the main job's phases, and clear errors before any compute."""

import json
import os
import subprocess
import sys

import pytest

SHORT = ["--config.bootstrap.steps=2", "--config.bootstrap.executor_demos_per_family=2",
         "--config.bootstrap.challenger_demos_per_family=1", "--config.eval.tasks_per_family=1",
         "--config.eval.k=1", "--config.challenge.tasks_per_family=1",
         "--config.sampling.num_slots=2", "--config.sampling.max_turn_tokens=16"]


def _main(workdir, *args, timeout=600):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  return subprocess.run([sys.executable, "-m", "launch.main", "--config=configs/tiny_cpu.py",
                         f"--workdir={workdir}", *args], capture_output=True, text=True,
                        timeout=timeout, env=env, cwd=os.path.dirname(os.path.dirname(
                            os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.slow
def test_short_run_produces_every_phase_artifact(tmp_path):
  r = _main(tmp_path, "--config.phases=bootstrap,eval_before,challenge,train,export,report", *SHORT,
            "--config.bootstrap.copy_steps=2", "--config.bootstrap.copy_batch_size=2")
  assert r.returncode == 0, r.stderr[-3000:]
  boot = json.loads((tmp_path / "phases" / "bootstrap.json").read_text())
  assert boot["copy_steps"] == 2 and boot["copy_final_loss"] > 0 and boot["sft_steps"] == 2
  assert (tmp_path / "checkpoints" / "bootstrap" / "4").exists()    # one schedule over both stages
  for name in ("bootstrap", "eval_before", "challenge", "train", "export", "report"):
    assert (tmp_path / "phases" / f"{name}.json").exists(), name
  assert (tmp_path / "tokenizer" / "tokenizer.model").exists()
  evaluation = json.loads((tmp_path / "eval_before.json").read_text())
  assert evaluation["k"] == 1
  # Every scored episode's transcript, its reward as scored.
  episodes = [json.loads(line) for line in
              (tmp_path / "eval_before_episodes.jsonl").read_text().splitlines()]
  assert sorted((e["env"], e["reward"]) for e in episodes) == sorted(
      (env, reward) for env, r in evaluation["envs"].items() for t in r["tasks"]
      for reward in t["rewards"])
  assert all(e["text"] and e["end_reason"] and "expected_answer" in e for e in episodes)
  stats = json.loads((tmp_path / "challenge_stats.json").read_text())
  assert stats["total"] == 2 and sum(stats["reasons"].values()) == 2   # every output accounted for
  assert (tmp_path / "tasks" / "challenge" / "dataset_info.json").exists()
  # Every challenger episode's transcript beside its verdict, as in the stats.
  challenger = [json.loads(line) for line in
                (tmp_path / "challenge_episodes.jsonl").read_text().splitlines()]
  assert sorted(e["reason"] for e in challenger) == sorted(
      reason for reason, n in stats["reasons"].items() for _ in range(n))
  assert all(e["text"] and e["end_reason"] and e["family"] for e in challenger)
  assert json.loads((tmp_path / "phases" / "export.json").read_text())["max_abs_logit_diff"] < 1e-3
  assert (tmp_path / "hf" / "config.json").exists() and (tmp_path / "report.md").exists()
  train = json.loads((tmp_path / "phases" / "train.json").read_text())
  # One challenger episode a family: at most 2 kept tasks, never a full batch of 4, so training
  # is skipped with the reason (and the run goes on to export and report).
  kept = stats["reasons"].get("kept", 0)
  assert kept <= 2
  reason = "has no usable records" if kept == 0 else "fewer than tasks_per_batch=4"
  assert reason in train["skipped"], train
  assert "Training was skipped" in (tmp_path / "report.md").read_text()
  # A rerun skips finished phases.
  r = _main(tmp_path, "--config.phases=bootstrap", *SHORT)
  assert r.returncode == 0 and "already done" in r.stdout


def test_bad_input_fails_before_compute(tmp_path):
  r = _main(tmp_path / "a", "--config.rl.no_such_key=3")
  assert r.returncode != 0 and "no_such_key" in r.stderr
  r = _main(tmp_path / "b", "--config.mesh=(3,1,1)")
  assert r.returncode != 0 and "does not match the 1 available devices" in r.stderr
  r = _main(tmp_path / "c", "--config.phases=bootstrap,dance")
  assert r.returncode != 0 and "unknown phase 'dance'" in r.stderr
  (tmp_path / "ro").mkdir()
  (tmp_path / "ro" / "file").write_text("x")
  r = _main(tmp_path / "ro" / "file" / "sub")
  assert r.returncode != 0 and "is not writable" in r.stderr
  assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()
