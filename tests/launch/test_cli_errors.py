"""Every launch/ CLI turns expected bad input into one line on stderr and a non-zero exit, writing
nothing; SELFCHALLENGE_TRACEBACK=1 shows the traceback (issue 19, item 8)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module, *args, env_extra=None):
  env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "SELFCHALLENGE_TRACEBACK")}
  env.update(env_extra or {})
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        timeout=300, cwd=ROOT, env=env)


def _hf_dir_without_vocab(tmp_path):
  d = tmp_path / "hf"
  d.mkdir()
  (d / "config.json").write_text(json.dumps({
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128}))
  return d


def _tiny_main(override):
  """launch.main on configs/tiny_cpu.py with one bad override."""
  return lambda t: ("launch.main", "--config=configs/tiny_cpu.py", f"--workdir={t / 'out'}",
                    override)


CASES = {
    "main_missing_config": lambda t: ("launch.main", "--config=configs/no_such_config.py",
                                      f"--workdir={t / 'out'}"),
    "main_unknown_phase": _tiny_main("--config.phases=bootstrap,nope"),
    "main_unknown_config_field": _tiny_main("--config.rl.nope=1"),
    # Values a phase would reject only after the bootstrap's minutes of compute.
    "main_bad_slots": _tiny_main("--config.sampling.num_slots=-4"),
    "main_unknown_algorithm": _tiny_main("--config.rl.algorithm=ppo"),
    "main_unknown_family": _tiny_main("--config.families=calculation,x"),
    "main_bad_group_size": _tiny_main("--config.rl.group_size=0"),
    "convert_config_without_vocab_size": lambda t: (
        "launch.convert_hf", f"--hf_dir={_hf_dir_without_vocab(t)}", f"--out={t / 'out'}"),
    "convert_missing_gguf": lambda t: ("launch.convert_hf", f"--gguf={t / 'none.gguf'}",
                                       f"--out={t / 'out'}"),
    "export_missing_checkpoint": lambda t: ("launch.export_hf", f"--checkpoint={t / 'none'}",
                                            f"--out={t / 'out'}"),
    "aot_missing_config": lambda t: ("launch.aot_check", "--config=configs/no_such_config.py",
                                     f"--json_out={t / 'out'}"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line(tmp_path, case):
  module, *args = CASES[case](tmp_path)
  r = _run(module, *args)
  lines = [line for line in r.stderr.splitlines() if line.strip()]
  assert r.returncode != 0, r.stderr
  assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in r.stderr, r.stderr
  assert not (tmp_path / "out").exists()


def test_traceback_on_request(tmp_path):
  r = _run("launch.export_hf", f"--checkpoint={tmp_path / 'none'}", f"--out={tmp_path / 'out'}",
           env_extra={"SELFCHALLENGE_TRACEBACK": "1"})
  assert r.returncode != 0 and "Traceback" in r.stderr and "does not exist" in r.stderr
