"""Metrics: one JSON object per line in the workdir (local or gs://), and TensorBoard events
when the `tensorboard` package is importable (it writes event files without TensorFlow).

GCS objects cannot be appended to (gcsfs turns an append into an overwrite), so on gs:// the JSONL
file is rewritten whole on each write, and the TensorBoard event file is written in a local temp
dir and uploaded after each flush under the same name in WORKDIR/tensorboard.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import weakref
from typing import Any

from absl import logging
from etils import epath

from selfchallenge_jax.io.local_copies import is_remote


class MetricsWriter:

  def __init__(self, workdir: epath.PathLike):
    self.path = epath.Path(workdir) / "metrics.jsonl"
    self.path.parent.mkdir(parents=True, exist_ok=True)
    self._tb = None
    self._tb_remote = None
    try:
      from tensorboard.summary.writer.event_file_writer import EventFileWriter
      from tensorboard.compat.proto import event_pb2, summary_pb2
    except ImportError:
      logging.info("tensorboard not installed: metrics go to %s only", self.path)
      return
    logdir = epath.Path(workdir) / "tensorboard"
    if is_remote(logdir):
      self._tb_remote = logdir
      local = tempfile.mkdtemp(prefix="tensorboard_")
      weakref.finalize(self, shutil.rmtree, local, True)
      logdir = local
    self._tb = (EventFileWriter(os.fspath(logdir)), event_pb2, summary_pb2)

  def write(self, phase: str, step: int, metrics: dict[str, Any]) -> None:
    record = {"phase": phase, "step": int(step), **{k: _scalar(v) for k, v in metrics.items()}}
    existing = self.path.read_text() if self.path.exists() else ""
    # Read-append-write keeps this working on object stores without append (gs://).
    self.path.write_text(existing + json.dumps(record) + "\n")
    if self._tb is not None:
      writer, event_pb2, summary_pb2 = self._tb
      values = [summary_pb2.Summary.Value(tag=f"{phase}/{k}", simple_value=float(v))
                for k, v in record.items() if isinstance(v, (int, float)) and k != "step"]
      writer.add_event(event_pb2.Event(step=int(step), summary=summary_pb2.Summary(value=values)))
      writer.flush()
      if self._tb_remote is not None:
        for local in epath.Path(writer.get_logdir()).iterdir():    # this writer's one event file
          local.copy(self._tb_remote / local.name, overwrite=True)

  def read(self) -> list[dict[str, Any]]:
    if not self.path.exists():
      return []
    return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def _scalar(v: Any) -> Any:
  try:
    return float(v)
  except (TypeError, ValueError):
    return v
