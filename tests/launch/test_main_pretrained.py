"""The main job from a pretrained start: a tiny Llama with a byte-level BPE tokenizer and a ChatML
template, written as a llama.cpp GGUF file in the test, runs every phase through launch.main with
configs/smollm2_cpu.py (the README's config) and `init=gguf:FILE`."""

import json
import os
import subprocess
import sys

import pytest

from gguf_files import tiny_chat_gguf as _tiny_gguf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHORT = ["--config.bootstrap.steps=2", "--config.bootstrap.executor_demos_per_family=2",
         "--config.bootstrap.challenger_demos_per_family=1", "--config.bootstrap.batch_tokens=4096",
         "--config.eval.tasks_per_family=1", "--config.eval.k=2",
         "--config.challenge.tasks_per_family=1", "--config.rl.steps=1",
         "--config.sampling.num_slots=4", "--config.sampling.max_turn_tokens=16",
         "--config.model.frozen_layers=1"]


def _main(workdir, *args, config="configs/smollm2_cpu.py"):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  return subprocess.run([sys.executable, "-m", "launch.main", f"--config={config}",
                         f"--workdir={workdir}", *args], capture_output=True, text=True,
                        timeout=900, env=env, cwd=ROOT)


@pytest.mark.slow
def test_gguf_start_runs_every_phase(tmp_path):
  _tiny_gguf(tmp_path / "tiny.gguf")
  work = tmp_path / "run"
  r = _main(work, f"--config.init=gguf:{tmp_path / 'tiny.gguf'}", *SHORT)
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
  # The checkpoint's tokenizer and chat template travel with the run and with the export.
  tokenizer_config = json.loads((work / "tokenizer" / "tokenizer_config.json").read_text())
  assert "<|im_start|>" in tokenizer_config["chat_template"]
  export = json.loads((work / "phases" / "export.json").read_text())
  assert export["tokenizer_ids_equal"] is True and export["max_abs_logit_diff"] < 1e-4
  assert {"tokenizer.json", "tokenizer_config.json", "model.safetensors"} <= set(
      os.listdir(work / "hf"))
  # report.json: the facts the README job is judged by.
  report = json.loads((work / "report.json").read_text())
  assert report["init"].startswith("gguf:")
  assert set(report["phases"]) == {"bootstrap", "eval_before", "challenge", "train",
                                   "eval_after", "export"}
  assert report["wall_s"] > 0 and all(s > 0 for s in report["phases"].values())
  for tag in ("eval_before", "eval_after"):
    assert report[tag]["calculation"]["episodes"] == 2, report[tag]
    assert 0.0 <= report[tag]["average"]["pass_at_1"] <= 1.0
  assert report["delta"]["low"] <= report["delta"]["delta"] <= report["delta"]["high"]
  challenge = report["challenge"]
  assert challenge["records"] == 2 and sum(challenge["reasons"].values()) == 2
  assert 0 <= challenge["kept"] <= challenge["parsed"] <= challenge["records"]
  boot = json.loads((work / "phases" / "bootstrap.json").read_text())
  assert boot["init"].startswith("gguf:") and boot["sft_steps"] == 2
  # Each progress line is printed once (not also through absl logging).
  progress = [line for line in r.stderr.splitlines() if "[bootstrap SFT] 2/2" in line]
  assert len(progress) == 1, progress


def test_architecture_overrides_are_refused_before_compute(tmp_path):
  _tiny_gguf(tmp_path / "tiny.gguf")
  # tiny_cpu's model section names an architecture (preset, sizes): not for a pretrained start.
  r = _main(tmp_path / "run", f"--config.init=gguf:{tmp_path / 'tiny.gguf'}",
            "--config.phases=bootstrap", config="configs/tiny_cpu.py")
  assert r.returncode != 0 and "Traceback" not in r.stderr
  assert "takes the architecture from the checkpoint" in r.stderr
  r = _main(tmp_path / "run2", "--config.init=gguf:/no/such/file.gguf", "--config.phases=bootstrap")
  assert r.returncode != 0 and "Traceback" not in r.stderr
  assert "/no/such/file.gguf" in r.stderr
  r = _main(tmp_path / "run3", "--config.init=safetensors:/x", "--config.phases=bootstrap")
  assert r.returncode != 0 and "expected 'scratch', 'hf:DIR' or 'gguf:FILE'" in r.stderr
  assert not (tmp_path / "run3" / "checkpoints").exists()
