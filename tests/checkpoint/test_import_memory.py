"""Pretrained imports (HF safetensors, GGUF) land in their shardings, never whole in host memory.

A 70B import (140 GB in bf16) cannot be assembled on a TPU host: a host may hold one tensor being
converted plus its own shards of one params leaf. Host memory here is tracemalloc's peak during the
import (numpy registers its buffers with it; import_memory.transfers_copy says why device_put is
made to copy, as on a TPU host), on import_memory.CONFIG: 14.2M float32 params (56.9 MB) whose
largest leaves, the three stacked MLP projections, are 14.7 MB (25.8%) each, and one layer's MLP
tensor 0.9 MB (1/16 of its leaf).

- One host, 8 devices: the host's shards of a leaf are the whole leaf, so an import that keeps to
  the rule peaks near one leaf plus the tensor it converts. Measured 1.07-1.33 leaves (0.28-0.34 of
  the model; the spread is the runtime freeing a placed shard's host buffer asynchronously), bounds
  0.5 of the model and 1.5 leaves. Before: the HF import assembled the model (1.02 of the model,
  3.95 leaves); the GGUF import built one whole leaf and placed it through copied per-device slices
  (2.07 leaves, 0.54 of the model).
- Two hosts of 4 devices: a host's shards are half of each leaf. Measured 0.57-0.70 leaf, bound:
  less than one whole leaf. Before: 3.95 (HF) and 2.07 (GGUF) leaves on each host.
"""

import io
import json

import pytest

import import_memory
from selfchallenge_jax.distributed.local_launcher import run_local_processes
from selfchallenge_jax.sharding import make_mesh


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  return import_memory.write_files(str(tmp_path_factory.mktemp("import_memory")))


@pytest.mark.parametrize("kind", ["hf", "gguf"])
def test_import_onto_fsdp_mesh_holds_one_leaf_on_the_host(files, kind):
  """8-way fsdp on one host: values equal the numpy import, each device holds 1/8 of the params,
  and the host peaks at one leaf plus a tensor, never the model."""
  mesh = make_mesh((1, 8, 1))
  f = import_memory.figures(kind, files[kind], mesh)
  assert len(f["device_bytes"]) == 8
  assert max(f["device_bytes"]) <= 1.1 * f["total"] / 8, f
  assert f["peak"] <= 0.5 * f["total"], f
  assert f["peak"] <= 1.5 * f["max_leaf"], f          # one leaf at a time, not two copies of it


def test_two_hosts_each_hold_their_half_of_one_leaf(files, tmp_path):
  """2 processes x 4 devices (launch.local_multihost's environment), one global 8-device fsdp
  mesh: each process fills only its own devices' shards, which equal the numpy import, and its
  host peak is its half of one leaf plus a tensor."""
  out = io.StringIO()
  result = run_local_processes(import_memory.__file__, [files["hf"], files["gguf"], str(tmp_path)],
                               num_processes=2, devices_per_process=4, timeout_s=300, out=out)
  assert result.ok, out.getvalue()[-4000:]
  for i in range(2):
    with open(tmp_path / f"process_{i}.json") as fp:
      report = json.load(fp)
    assert report["addressable_devices"] == 4
    for kind in ("hf", "gguf"):
      f = report[kind]
      assert len(f["device_bytes"]) == 4
      assert max(f["device_bytes"]) <= 1.1 * f["total"] / 8, (i, kind, f)
      assert f["peak"] < f["max_leaf"], (i, kind, f)
