"""launch/tpu/*.sh: bash -n, usage errors, and the gcloud commands DRY_RUN=1 prints."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "launch" / "tpu"
CONFIG = "configs/llama31_8b_v5p64.py"
NAME, ZONE = "selfchallenge-8b-v5p64", "--zone=us-east5-a"


@pytest.fixture(scope="module", autouse=True)
def gcloud_tripwire(tmp_path_factory):
  """A gcloud first on PATH that fails loudly: DRY_RUN must never call the real one."""
  bin_dir = tmp_path_factory.mktemp("bin")
  (bin_dir / "gcloud").write_text("#!/bin/sh\necho 'gcloud was called under DRY_RUN' >&2\nexit 99\n")
  (bin_dir / "gcloud").chmod(0o755)
  os.environ["TRIPWIRE_PATH"] = f"{bin_dir}:{os.environ['PATH']}"
  yield
  del os.environ["TRIPWIRE_PATH"]


def run(script, *args, **env):
  full_env = {k: v for k, v in os.environ.items() if k not in ("QUEUED", "SPOT", "PROJECT")}
  full_env.update(DRY_RUN="1", PATH=os.environ["TRIPWIRE_PATH"], **env)
  return subprocess.run(["bash", str(SCRIPTS / script), *args], cwd=ROOT, env=full_env,
                        capture_output=True, text=True, timeout=120)


def commands(proc):
  """The printed gcloud commands, each split back into its arguments."""
  assert proc.returncode == 0, proc.stderr
  lines = [l for l in proc.stdout.splitlines() if l.startswith("+ ")]
  assert lines, proc.stdout
  return [shlex.split(l[2:]) for l in lines]


def remote(cmd):
  (arg,) = [a for a in cmd if a.startswith("--command=")]
  return arg[len("--command="):]


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.sh")))
def test_bash_syntax_and_strict_mode(script):
  subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=True)
  text = (SCRIPTS / script).read_text()
  if script != "common.sh":
    assert "set -euo pipefail" in text


def test_create():
  (cmd,) = commands(run("create.sh", CONFIG))
  assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "create", NAME, ZONE,
                 "--accelerator-type=v5p-64", "--version=v2-alpha-tpuv5"]


def test_create_queued_spot_in_a_project():
  (cmd,) = commands(run("create.sh", CONFIG, QUEUED="1", SPOT="1", PROJECT="p1"))
  assert cmd == ["gcloud", "compute", "tpus", "queued-resources", "create", NAME,
                 f"--node-id={NAME}", ZONE, "--accelerator-type=v5p-64",
                 "--runtime-version=v2-alpha-tpuv5", "--spot", "--project=p1"]


def test_install_from_this_checkout():
  scp, ssh = commands(run("install.sh", CONFIG))
  assert scp[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"]
  assert scp[6] == f"{NAME}:selfchallenge_jax.tar.gz" and "--worker=all" in scp
  assert ssh[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", NAME] and "--worker=all" in ssh
  assert "tar -xzf ~/selfchallenge_jax.tar.gz" in remote(ssh)
  assert remote(ssh).endswith("python3 -m pip install -e '.[tpu]'")


def test_install_from_git_and_a_pretrained_config_brings_its_own_tokenizer():
  (ssh,) = commands(run("install.sh", CONFIG, "https://example.org/r.git", "v1"))
  cmd = remote(ssh)
  assert "git clone --depth=1 --branch=v1 https://example.org/r.git ~/selfchallenge_jax" in cmd
  assert cmd.endswith("pip install -e '.[tpu]'")
  proc = run("install.sh", CONFIG, TOKENIZER_SRC="gs://b/tokenizer.model")
  assert proc.returncode == 2 and "comes from its init checkpoint" in proc.stderr
  assert "gcloud" not in proc.stdout


def test_run_starts_main_on_every_worker_with_a_log_each():
  (ssh,) = commands(run("run.sh", CONFIG, "gs://b/run2", "--config.rl.steps=5"))
  assert ssh[:7] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", NAME, ZONE]
  assert "--worker=all" in ssh
  cmd = remote(ssh)
  assert ("setsid nohup python3 -m launch.main --config=configs/llama31_8b_v5p64.py "
          "--workdir=gs://b/run2 --distributed --config.rl.steps=5 > "
          "~/selfchallenge_logs/llama31_8b_v5p64-$(hostname).log 2>&1 < /dev/null &") in cmd


def test_run_defaults_to_the_configs_workdir():
  (ssh,) = commands(run("run.sh", CONFIG))
  assert "--workdir=gs://selfchallenge-runs/llama31_8b_v5p64 --distributed >" in remote(ssh)


def test_logs_and_delete():
  (ssh,) = commands(run("logs.sh", CONFIG, "3", "20", FOLLOW="1"))
  assert "--worker=3" in ssh
  assert remote(ssh) == "tail -n 20 -F ~/selfchallenge_logs/llama31_8b_v5p64-*.log"
  (cmd,) = commands(run("delete.sh", CONFIG))
  assert cmd == ["gcloud", "compute", "tpus", "tpu-vm", "delete", NAME, ZONE, "--quiet"]
  (cmd,) = commands(run("delete.sh", CONFIG, QUEUED="1"))
  assert cmd[:5] == ["gcloud", "compute", "tpus", "queued-resources", "delete"]


@pytest.mark.parametrize("script, args, message", [
    ("create.sh", [], "expected exactly one argument"),
    ("create.sh", ["configs/nope.py"], "does not exist"),
    ("create.sh", [CONFIG, "extra"], "expected exactly one argument"),
    ("run.sh", [CONFIG, "/local/dir"], "must be a gs:// path"),
    ("run.sh", [CONFIG, "gs://b/r", "steps=5"], "unexpected argument 'steps=5'"),
    ("logs.sh", [CONFIG, "w1"], "worker must be a number"),
    ("install.sh", [], "expected CONFIG.py"),
])
def test_usage_errors(script, args, message):
  proc = run(script, *args)
  assert proc.returncode == 2
  assert message in proc.stderr and "usage:" in proc.stderr
  assert "+ gcloud" not in proc.stdout


def test_invalid_tpu_config_fails_before_gcloud(tmp_path):
  bad = tmp_path / "bad.py"
  text = (ROOT / CONFIG).read_text()
  assert "mesh=(1, 16, 2)" in text
  bad.write_text(text.replace("mesh=(1, 16, 2)", "mesh=(1, 7, 2)"))
  proc = run("create.sh", str(bad))
  assert proc.returncode != 0 and "does not fit topology" in proc.stderr
  assert "+ gcloud" not in proc.stdout
