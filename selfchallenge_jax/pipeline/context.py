"""What every phase of a run shares: config, workdir layout, mesh, tokenizer, model and policy.

Workdir layout (local or gs://, through etils.epath; for gs:// see selfchallenge_jax/io/gcs.py):
  config.json                      the resolved run config
  tokenizer/                       the run's tokenizer: tokenizer.model (trained from scratch or a
                                   copy of config.tokenizer.path), or the pretrained checkpoint's
                                   tokenizer.json + tokenizer_config.json (with its chat template)
  checkpoints/bootstrap/           params-only orbax checkpoint of the starting policy (after the
                                   optional SFT warm-up)
  checkpoints/train/               GRPO train states (params, optimizer, step, rng, data iterator)
  tasks/challenge/                 the challenger's task dataset (ArrayRecord + JSONL)
  eval_<tag>.json / .md            evaluation results
  metrics.jsonl                    one JSON object per logged step
  tensorboard/                     the same scalars as TensorBoard event files
  phases/<name>.json               completion markers: a restarted run skips finished phases
  hf/                              the exported HF checkpoint
  report.md, *.png                 the run report
"""

from __future__ import annotations

import json
import time
from typing import Any

import ml_collections
from absl import logging
from etils import epath

from selfchallenge_jax.checkpoint.export import load_params
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.model.config import LlamaConfig, get_config
from selfchallenge_jax.pipeline.init_source import parse_init, training_overrides
from selfchallenge_jax.pipeline.run_config import check_run_config
from selfchallenge_jax.sharding import make_mesh
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format


class RunContext:

  def __init__(self, config: ml_collections.ConfigDict, workdir: epath.PathLike):
    self.config = config
    self.workdir = epath.Path(workdir)
    check_run_config(config)                    # bad values fail before any compute
    self.mesh = make_mesh(tuple(config.mesh))
    self.families = [f for f in config.families.split(",") if f]
    self.init = parse_init(config.init)         # a bad init spec fails before any compute
    if self.init.pretrained:
      training_overrides(dict(config.model), self.init)
      if not epath.Path(self.init.path).exists():
        raise FileNotFoundError(f"config.init={self.init.spec!r}: {self.init.path} does not exist")
    self.started = time.time()
    self._tokenizer = None

  # ---- layout ---------------------------------------------------------------------------------
  def path(self, *parts: str) -> epath.Path:
    return self.workdir.joinpath(*parts)

  @property
  def tokenizer_dir(self) -> epath.Path:
    return self.path("tokenizer")

  @property
  def tokenizer_path(self) -> epath.Path:
    """Where the from-scratch run keeps its SentencePiece model."""
    return self.tokenizer_dir / "tokenizer.model"

  def phase_done(self, name: str) -> bool:
    return self.path("phases", f"{name}.json").exists()

  def mark_done(self, name: str, summary: dict[str, Any]) -> None:
    self.path("phases").mkdir(parents=True, exist_ok=True)
    self.path("phases", f"{name}.json").write_text(json.dumps(summary, indent=2, default=str))

  # ---- tokenizer / model ----------------------------------------------------------------------
  @property
  def tokenizer(self):
    if self._tokenizer is None:
      if not self.tokenizer_dir.exists():
        raise FileNotFoundError(f"{self.tokenizer_dir} does not exist: run the bootstrap phase "
                                "first (or set --config.tokenizer.path)")
      self._tokenizer = load_tokenizer(self.tokenizer_dir)
    return self._tokenizer

  @property
  def chat(self):
    return make_chat_format(self.config.chat.format, self.tokenizer,
                            tool_schemas=self.config.chat.tool_schemas)

  def model_config(self) -> LlamaConfig:
    """The policy's architecture: the bootstrap checkpoint's, once it exists; before that (the
    from-scratch bootstrap itself) the configured preset sized to the tokenizer."""
    boot = self.path("checkpoints", "bootstrap")
    if boot.exists():
      ckpt = Checkpointer(boot, create=False)
      try:
        if ckpt.latest_step() is not None:
          return LlamaConfig.from_dict(ckpt.metadata()["model_config"])
      finally:
        ckpt.close()
    if self.init.pretrained:
      raise FileNotFoundError(f"no bootstrap checkpoint under {boot}: run the bootstrap phase "
                              f"first (it imports {self.init.spec})")
    overrides = dict(self.config.model)
    preset = overrides.pop("preset")
    tok = self.tokenizer
    return get_config(preset, vocab_size=tok.vocab_size, bos_id=tok.bos_id, eos_id=tok.eos_id,
                      **overrides)

  # ---- the current policy ---------------------------------------------------------------------
  def policy_checkpoint_dir(self) -> epath.Path:
    """The newest policy: the train checkpoints once they exist, else the bootstrap one."""
    train = self.path("checkpoints", "train")
    if train.exists() and Checkpointer(train, create=False).latest_step() is not None:
      return train
    boot = self.path("checkpoints", "bootstrap")
    if boot.exists():
      return boot
    raise FileNotFoundError(f"no policy checkpoint under {self.path('checkpoints')}: run the "
                            "bootstrap phase first")

  def load_policy(self) -> tuple[LlamaConfig, Any]:
    """The newest policy's (config, params), restored into their shardings on the run's mesh."""
    config, params, _ = load_params(self.policy_checkpoint_dir(), self.mesh)
    logging.info("policy from %s", self.policy_checkpoint_dir())
    return config, params

  def elapsed(self) -> float:
    return time.time() - self.started
