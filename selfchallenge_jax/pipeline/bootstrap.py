"""Bootstrap phase: the project's tokenizer and a tiny Llama SFT'd on scripted demonstrations.

This is the miniature's stand-in for an instruct model: deliberately under-trained (a few minutes
of SFT on a few dozen demos per family) so self-challenging training has room to improve it.
SFT batches hold demos of one length bucket under a token budget (pipeline/demo_batches.py).
Optionally (`bootstrap.copy_steps`) a synthetic copy stage comes first (pipeline/copy_pretrain.py):
the stand-in for the pretraining an instruct model would have had.
"""

from __future__ import annotations

import time

import jax
import numpy as np
from absl import logging
from etils import epath

from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.checkpoint.train_state import TrainState
from selfchallenge_jax.model import init_params
from selfchallenge_jax.pipeline import demos as demo_lib
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.pipeline.copy_pretrain import copy_batch
from selfchallenge_jax.pipeline.demo_batches import DemoBatches
from selfchallenge_jax.pipeline.progress import Progress
from selfchallenge_jax.rl.optimizer import make_optimizer
from selfchallenge_jax.rl.sft import sft_update
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece
from selfchallenge_jax.train.xla_options import training_compiler_options


def _examples(ctx: RunContext, chats, max_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
  out, dropped = [], 0
  for chat in chats:
    rendered = ctx.chat.render(chat.messages, tools=chat.tools, add_generation_prompt=False)
    if len(rendered.ids) > max_len:
      dropped += 1          # truncating would cut the answer the demo exists to teach
      continue
    out.append((np.asarray(rendered.ids, np.int32), np.asarray(rendered.role_mask, np.float32)))
  if dropped:
    logging.warning("bootstrap: %d of %d demos exceed max_len=%d and are skipped", dropped,
                    len(chats), max_len)
  if not out:
    raise ValueError(f"no demonstration fits max_len={max_len}")
  return out


def run_bootstrap(ctx: RunContext) -> dict:
  cfg = ctx.config.bootstrap
  t0 = time.time()
  executor = demo_lib.executor_demos(ctx.families, cfg.executor_demos_per_family, cfg.demo_seed,
                                     num_seeds=cfg.demo_task_seeds)
  challenger = demo_lib.challenger_demos(ctx.families, cfg.challenger_demos_per_family,
                                         cfg.demo_seed)
  chats = executor + challenger
  if ctx.config.tokenizer.path:
    ctx.tokenizer_path.parent.mkdir(parents=True, exist_ok=True)
    ctx.tokenizer_path.write_bytes(epath.Path(ctx.config.tokenizer.path).read_bytes())
  else:
    train_chat_sentencepiece(demo_lib.corpus_text(chats, ctx.config.chat.tool_schemas),
                             ctx.tokenizer_path, ctx.config.tokenizer.vocab_size)
  config = ctx.model_config()
  examples = _examples(ctx, chats, cfg.max_len)
  logging.info("bootstrap: %d executor + %d challenger demos, %d tokens", len(executor),
               len(challenger), sum(len(e[0]) for e in examples))

  # One schedule over both stages: the copy stage (0 steps by default) then the demos.
  total_steps = cfg.copy_steps + cfg.steps
  optimizer, _ = make_optimizer(lr=cfg.lr, warmup_steps=min(cfg.warmup_steps, total_steps - 1),
                                total_steps=total_steps)
  key = jax.random.key(ctx.config.seed)
  state = TrainState.create(init_params(config, key), optimizer, jax.random.fold_in(key, 1))
  step_fn = jax.jit(lambda s, *b: sft_update(s, b, optimizer, config), donate_argnums=0,
                    compiler_options=training_compiler_options())
  rng = np.random.default_rng(ctx.config.seed)
  copy_losses = []
  if cfg.copy_steps:
    pool = np.concatenate([ids for ids, _ in examples])
    progress = Progress("bootstrap copy", cfg.copy_steps)
    for step in range(cfg.copy_steps):
      batch = copy_batch(pool, rng, batch_size=cfg.copy_batch_size, length=cfg.copy_len,
                         bos_id=config.bos_id)
      state, metrics = step_fn(state, *batch)
      copy_losses.append(float(metrics["loss"]))
      progress.update(step + 1, loss=copy_losses[-1])
  batches = DemoBatches(examples, batch_tokens=cfg.batch_tokens,
                        length_multiple=cfg.length_multiple, max_len=cfg.max_len, rng=rng)
  progress = Progress("bootstrap SFT", cfg.steps)
  losses, rows = [], 0
  for step in range(cfg.steps):
    batch = batches.next()
    rows += len(batch[0])
    state, metrics = step_fn(state, *batch)
    losses.append(float(metrics["loss"]))
    progress.update(step + 1, loss=losses[-1])
  with Checkpointer(ctx.path("checkpoints", "bootstrap"), max_to_keep=1) as ckpt:
    ckpt.save_params(total_steps, state.params, {"model_config": config.to_dict(),
                                               "phase": "bootstrap"})
  return {"executor_demos": len(executor), "challenger_demos": len(challenger),
          "copy_steps": cfg.copy_steps,
          "copy_final_loss": float(np.mean(copy_losses[-5:])) if copy_losses else None,
          "sft_steps": cfg.steps, "sft_rows": rows, "sft_epochs": batches.epochs,
          "first_loss": losses[0], "final_loss": float(np.mean(losses[-5:])),
          "vocab_size": config.vocab_size, "seconds": time.time() - t0}
