"""gs:// workdirs against a local GCS emulator (gcp-storage-emulator on 127.0.0.1, in memory,
with the download headers TensorStore needs: gcs_emulator.py).

Every client is pointed at the emulator through the variables it honours (selfchallenge_jax/io/
gcs.py): gcsfs (epath) and google-cloud-storage by STORAGE_EMULATOR_HOST, TensorStore (orbax) by
TENSORSTORE_GCS_HTTP_URL; credentials are anonymous or a fixed test token, the metadata-server
variables point at a closed loopback port and no gcloud config is visible, so nothing here can
reach Google: `_offline_env` asserts it before any run starts.

The end-to-end test runs `launch.main --workdir=gs://...` through bootstrap, challenge (scripted
challenger, so tasks are kept and training runs), train, export and report; SIGKILLs it once a
train checkpoint is committed on gs://; reruns it, which must skip the finished phases and resume
from gs://; then loads the HF export back from gs:// with transformers and with our importer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import fsspec
import jax
import numpy as np
import optax
import pytest
from etils import epath

from selfchallenge_jax.checkpoint.export import load_params_on_host
from selfchallenge_jax.checkpoint.hf_export import export_hf
from selfchallenge_jax.checkpoint.hf_import import import_hf
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.train_state import TrainState, abstract_state, state_shardings
from selfchallenge_jax.io import gcs
from selfchallenge_jax.io.local_copies import local_dir, local_file
from selfchallenge_jax.model import abstract_params, get_config, init_params, llama
from selfchallenge_jax.pipeline.metrics import MetricsWriter
from selfchallenge_jax.tasks.check import CheckResult, Reason
from selfchallenge_jax.tasks.dataset_reader import open_task_source
from selfchallenge_jax.tasks.dataset_writer import write_task_dataset
from selfchallenge_jax.tasks.record import CodeAsTask

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUCKET = "selfchallenge-test"
CLOSED = "127.0.0.1:9"             # nothing listens on the discard port: connections fail at once
# The variables that could send a client anywhere: each must name loopback or be a fixed value.
_ENDPOINTS = ("STORAGE_EMULATOR_HOST", "TENSORSTORE_GCS_HTTP_URL", "GCE_METADATA_HOST",
              "GCE_METADATA_ROOT", "GCE_METADATA_IP")
_REMOVED = ("XLA_FLAGS", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
            *_ENDPOINTS)
SHORT = ["--config.bootstrap.steps=2", "--config.bootstrap.executor_demos_per_family=2",
         "--config.bootstrap.challenger_demos_per_family=1",
         "--config.challenge.tasks_per_family=1", "--config.challenge.backend=scripted",
         "--config.sampling.num_slots=2", "--config.sampling.max_turn_tokens=16",
         "--config.rl.steps=3", "--config.checkpoint.every_steps=1",
         "--config.rl.tasks_per_batch=1", "--config.rl.group_size=2"]
CONFIG = get_config("tiny", vocab_size=128)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _offline_env(url: str, home: str) -> dict[str, str]:
  """The environment of every run: the emulator for storage, a closed port for everything else."""
  env = {k: v for k, v in os.environ.items() if k not in _REMOVED}
  env.update(STORAGE_EMULATOR_HOST=url, TENSORSTORE_GCS_HTTP_URL=url,
             GOOGLE_AUTH_TOKEN_FOR_TESTING="emulator", NO_GCE_CHECK="true",
             GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT="false", GCE_METADATA_HOST=CLOSED,
             GCE_METADATA_ROOT=CLOSED, GCE_METADATA_IP=CLOSED, CLOUDSDK_CONFIG=home,
             GOOGLE_CLOUD_PROJECT="emulator", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
  for name in _ENDPOINTS:
    assert re.match(r"^(http://)?127\.0\.0\.1:\d+$", env[name]), (name, env[name])
  assert not os.listdir(home), "a gcloud config would hand out real credentials"
  return env


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
  """(emulator URL, environment); this process is configured like the runs it starts."""
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  proc = subprocess.Popen([sys.executable, os.path.join(HERE, "gcs_emulator.py"), "start",
                           "--host=127.0.0.1", f"--port={port}", "--in-memory",
                           f"--default-bucket={BUCKET}", "--quiet"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 30
    while True:
      try:
        with urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}", timeout=2) as r:
          assert json.load(r)["name"] == BUCKET
        break
      except OSError:
        if time.time() > deadline or proc.poll() is not None:
          raise
        time.sleep(0.2)
    env = _offline_env(url, str(tmp_path_factory.mktemp("gcloud")))
    fsspec_conf = {k: dict(v) for k, v in fsspec.config.conf.items()}
    with pytest.MonkeyPatch.context() as mp:
      # XLA_FLAGS stays in this process: a JAX backend first started in here would otherwise
      # have 1 CPU device for the rest of the session (later 8-device tests failed after it).
      for name in {*_REMOVED, *env} - {"XLA_FLAGS"}:
        if name in env:
          mp.setenv(name, env[name])
        else:
          mp.delenv(name, raising=False)
      assert gcs.configure_gcs(f"gs://{BUCKET}") == url
      yield url, env
    fsspec.config.conf.clear()
    fsspec.config.conf.update(fsspec_conf)
  finally:
    proc.kill()
    proc.wait()


def _listing(url: str, prefix: str) -> list[str]:
  """Object names under `prefix`, asked of the emulator directly (not through the code tested)."""
  with urllib.request.urlopen(f"{url}/storage/v1/b/{BUCKET}/o?prefix={prefix}", timeout=10) as r:
    return sorted(item["name"] for item in json.load(r).get("items", []))


# ---- the clients' configuration ----------------------------------------------------------------
def test_half_configured_clients_fail_before_any_write(emulator, monkeypatch):
  url, _ = emulator
  monkeypatch.delenv("STORAGE_EMULATOR_HOST")
  with pytest.raises(gcs.GcsConfigError, match="STORAGE_EMULATOR_HOST is unset"):
    gcs.configure_gcs(f"gs://{BUCKET}/x")
  monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
  with pytest.raises(gcs.GcsConfigError, match="different servers"):
    gcs.configure_gcs(f"gs://{BUCKET}/x")
  monkeypatch.setenv("STORAGE_EMULATOR_HOST", url.removeprefix("http://"))   # bare host:port
  assert gcs.configure_gcs(f"gs://{BUCKET}/x") == url
  assert fsspec.config.conf["gs"]["token"] == "anon"


def test_run_without_emulator_host_fails_fast_instead_of_calling_google(emulator, tmp_path):
  _, env = emulator
  env = {k: v for k, v in env.items() if k != "STORAGE_EMULATOR_HOST"}
  t0 = time.time()
  r = subprocess.run([sys.executable, "-m", "launch.main", "--config=configs/tiny_cpu.py",
                      f"--workdir=gs://{BUCKET}/refused"], cwd=REPO, env=env,
                     capture_output=True, text=True, timeout=120)
  assert r.returncode != 0 and "STORAGE_EMULATOR_HOST is unset" in r.stderr, r.stderr[-2000:]
  assert time.time() - t0 < 60
  assert not _listing(emulator[0], "refused")


# ---- each writer on gs:// ----------------------------------------------------------------------
def _task(i: int) -> CodeAsTask:
  return CodeAsTask(task_id=f"t-{i}", env="test_kv", env_kwargs={"seed": i},
                    instruction=f"Say ok{i}.",
                    verifier=f"def verify(state, answer, messages):\n  return answer == 'ok{i}'\n",
                    solution=({"name": "respond", "arguments": {"content": f"ok{i}"}},),
                    failure_cases=(({"name": "respond", "arguments": {"content": "no"}},),))


def test_task_dataset_round_trip(emulator, tmp_path):
  from selfchallenge_jax.tasks import tfds_builder
  url, _ = emulator
  results = [CheckResult(keep=True, reason=Reason.KEPT, task=_task(i)) for i in range(5)]
  results.append(CheckResult(keep=False, reason=Reason.SOLUTION_FAILS, task=_task(9)))
  info = write_task_dataset(f"gs://{BUCKET}/unit/ds", results, name="unit", records_per_shard=2)
  assert _listing(url, "unit/ds/") == [
      "unit/ds/dataset_info.json", "unit/ds/kept-00000.array_record",
      "unit/ds/kept-00001.array_record", "unit/ds/kept-00002.array_record", "unit/ds/kept.jsonl",
      "unit/ds/rejected-00000.array_record", "unit/ds/rejected.jsonl"]
  assert info.splits["kept"].records == 5
  source = open_task_source(f"gs://{BUCKET}/unit/ds", "kept")
  assert [r.task for r in source] == [_task(i) for i in range(5)]
  assert source[3].task == _task(3) and source.skipped == 0
  # The TFDS builder reads a gs:// task dataset too (into a local TFDS data_dir: TFDS writes
  # ArrayRecord files, which are local-only without TensorFlow's file system).
  tfds_builder.prepare_task_set(f"gs://{BUCKET}/unit/ds", tmp_path / "tfds")
  tfds_source = tfds_builder.tfds_task_source("unit", tmp_path / "tfds")
  assert [r.task for r in tfds_source] == [_task(i) for i in range(5)]


def test_checkpoint_save_keep_n_restore(emulator):
  url, _ = emulator
  directory = f"gs://{BUCKET}/unit/ckpt"
  optimizer = optax.adamw(1e-3)
  params = init_params(CONFIG, jax.random.key(1))
  state = TrainState.create(params, optimizer, jax.random.key(7))
  with Checkpointer(directory, max_to_keep=2) as ckpt:
    for step in (1, 2, 3):
      ckpt.save(step, state.replace(step=np.int32(step)), {"model_config": CONFIG.to_dict()},
                data_state={"next_index": step})
    ckpt.wait()
    assert ckpt.all_steps() == [2, 3]
  assert {n.split("/")[2] for n in _listing(url, "unit/ckpt/")} == {"2", "3"}   # keep-N deleted
  cpu = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  shapes = abstract_params(CONFIG)
  shardings = state_shardings(optimizer, jax.tree.map(lambda _: cpu, shapes), shapes, cpu)
  target = abstract_state(optimizer, shapes, shardings)
  restored, metadata, data = Checkpointer(directory, create=False).restore(target)
  assert int(restored.step) == 3 and data == {"next_index": 3}
  assert metadata["model_config"] == CONFIG.to_dict()
  jax.tree.map(np.testing.assert_array_equal, restored.params, params)
  _, host_params, _ = load_params_on_host(directory)
  jax.tree.map(np.testing.assert_array_equal, host_params, params)


def test_metrics_jsonl_and_tensorboard_events(emulator):
  from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader
  url, _ = emulator
  workdir = f"gs://{BUCKET}/unit/metrics"
  writer = MetricsWriter(workdir)
  for step in (1, 2, 3):
    writer.write("train", step, {"loss": 1.0 / step})
  assert [(r["step"], r["loss"]) for r in MetricsWriter(workdir).read()] == [
      (1, 1.0), (2, 0.5), (3, 1 / 3)]
  events = _listing(url, "unit/metrics/tensorboard/")
  assert len(events) == 1         # the writer's; the reader above wrote no event
  with local_file(f"gs://{BUCKET}/{events[0]}") as path:
    steps = [(e.step, e.summary.value[0].simple_value) for e in LegacyEventFileLoader(path).Load()
             if e.summary.value]
  # Every event survived: GCS cannot append, so a naive writer would keep only the last one.
  assert steps == [(1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]


def test_hf_export_and_import(emulator):
  url, _ = emulator
  params = init_params(CONFIG, jax.random.key(3))
  names = export_hf(params, CONFIG, f"gs://{BUCKET}/unit/hf", max_shard_bytes=64 * 1024)
  assert len(names) > 1
  assert _listing(url, "unit/hf/") == sorted(
      [f"unit/hf/{n}" for n in names] + ["unit/hf/config.json",
                                         "unit/hf/model.safetensors.index.json"])
  config, imported = import_hf(f"gs://{BUCKET}/unit/hf")
  assert config.replace(head_dim=None) == CONFIG      # HF configs spell head_dim out
  jax.tree.map(np.testing.assert_array_equal, imported, params)


# ---- a whole run: killed, resumed from gs://, exported to gs:// -------------------------------
def _args(workdir: str) -> list[str]:
  return [sys.executable, "-m", "launch.main", "--config=configs/tiny_cpu.py",
          f"--workdir={workdir}", "--config.phases=bootstrap,challenge,train,export,report",
          *SHORT]


def _committed_train_steps(workdir: str) -> list[int]:
  train = epath.Path(workdir) / "checkpoints" / "train"
  if not train.exists():
    return []
  return sorted(int(p.parent.name) for p in train.glob("*/commit_success.txt"))


@pytest.mark.slow
def test_gs_workdir_run_killed_resumed_and_exported(emulator, tmp_path):
  import torch
  import transformers
  url, env = emulator
  workdir = f"gs://{BUCKET}/run"
  log = tmp_path / "first.log"
  with log.open("w") as out:
    proc = subprocess.Popen(_args(workdir), cwd=REPO, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 900
    while proc.poll() is None and not _committed_train_steps(workdir):
      assert time.time() < deadline, "no train checkpoint on gs:// in time"
      time.sleep(0.5)
    assert proc.poll() is None, log.read_text()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
  first = log.read_text()
  done = {p.name for p in (epath.Path(workdir) / "phases").iterdir()}
  assert done == {"bootstrap.json", "challenge.json"}, (done, first[-3000:])
  names = _listing(url, "run/")
  for name in ("run/config.json", "run/tokenizer/tokenizer.model",
               "run/tasks/challenge/dataset_info.json", "run/tasks/challenge/kept.jsonl",
               "run/tasks/challenge/kept-00000.array_record", "run/metrics.jsonl"):
    assert name in names, name
  assert any(n.startswith("run/checkpoints/bootstrap/2/params/") for n in names)
  assert any(n.startswith("run/tensorboard/events.out.tfevents.") for n in names)
  killed_at = _committed_train_steps(workdir)

  r = subprocess.run(_args(workdir), cwd=REPO, env=env, capture_output=True, text=True,
                     timeout=900)
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
  assert "[bootstrap] already done" in r.stdout and "[challenge] already done" in r.stdout
  resumed = re.search(rf"\[train\] resumed from {workdir}/checkpoints/train at step (\d+)",
                      r.stdout)
  assert resumed and int(resumed.group(1)) == killed_at[-1], (killed_at, r.stdout)
  assert json.loads((epath.Path(workdir) / "phases" / "train.json").read_text())["steps"] == 3
  assert _committed_train_steps(workdir)[-1] == 3
  steps = {rec["step"] for rec in MetricsWriter(workdir).read() if rec["phase"] == "train"}
  assert steps == {1, 2, 3}
  assert "run/report.md" in _listing(url, "run/")

  # The HF export on gs:// loads back: in transformers (from a local copy) and in our importer,
  # both equal to the final train checkpoint.
  config, params, _ = load_params_on_host(f"{workdir}/checkpoints/train")
  # config.json holds the architecture only; how to run it (here the query block) is the importer's
  # override, as a user importing for a run would pass it.
  hf_config, imported = import_hf(f"{workdir}/hf",
                                  attention_query_block=config.attention_query_block)
  assert hf_config.replace(head_dim=None) == config.replace(head_dim=None)
  jax.tree.map(np.testing.assert_array_equal, imported, params)
  with local_dir(f"{workdir}/hf") as hf_dir:
    model = transformers.LlamaForCausalLM.from_pretrained(hf_dir).float().eval()
  tokens = np.arange(1, 17, dtype=np.int64)[None]
  positions = np.arange(16)[None]
  ours = np.asarray(llama.forward(params, tokens, positions, np.ones_like(tokens, bool), config))
  with torch.no_grad():
    ref = model(input_ids=torch.tensor(tokens)).logits.float().numpy()
  np.testing.assert_allclose(ours, ref, atol=1e-3)
