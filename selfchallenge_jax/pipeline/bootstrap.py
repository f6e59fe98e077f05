"""Bootstrap phase: the starting policy, saved to checkpoints/bootstrap.

Pretrained (`init=hf:DIR` / `gguf:FILE`, pipeline/init_source.py): the weights are imported into
their shardings on the run's mesh and the checkpoint's tokenizer files (with its chat template)
are copied into the workdir; then an optional short format warm-up, `bootstrap.steps` SFT steps on
scripted demonstrations of generated tasks (the stand-in for the function-calling data an instruct
model is tuned on: our tool-call convention, the `Answer:` ending, the challenger's task layout).
0 steps keeps the model exactly as loaded.

From scratch (`init=scratch`, the fast smoke path): a SentencePiece tokenizer trained on project
text and a tiny random Llama SFT'd on the same demonstrations, optionally after a synthetic copy
stage (pipeline/copy_pretrain.py). Deliberately under-trained: it is a smoke test of the loop.

SFT batches hold demos of one length bucket under a token budget (pipeline/demo_batches.py); the
step is jitted on the run's mesh with the train state's shardings (params never gathered).
"""

from __future__ import annotations

import time

import jax
import numpy as np
from absl import logging
from etils import epath

from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.distributed import processes
from selfchallenge_jax.pipeline import demos as demo_lib
from selfchallenge_jax.pipeline.context import RunContext
from selfchallenge_jax.pipeline.copy_pretrain import copy_batch
from selfchallenge_jax.pipeline.demo_batches import DemoBatches
from selfchallenge_jax.pipeline.init_source import load_pretrained, training_overrides
from selfchallenge_jax.pipeline.progress import Progress
from selfchallenge_jax.rl.optimizer import sft_optimizer_from_config
from selfchallenge_jax.sharding.program import ProgramTable
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece
from selfchallenge_jax.train import programs as training_programs
from selfchallenge_jax.train.programs import TrainSpec, batch_shardings


def _examples(ctx: RunContext, chats, max_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
  """Rendered (ids, role mask) of the demos that fit: max_len tokens, and for challenger demos the
  challenge episode's budgets (demo_lib.fits_episode_budget)."""
  challenge = ctx.config.challenge
  budget = dict(max_turns=ctx.config.sampling.max_turns, max_turn_tokens=challenge.max_turn_tokens,
                max_episode_tokens=challenge.max_episode_tokens)
  out, too_long, over_budget = [], 0, 0
  for chat in chats:
    rendered = ctx.chat.render(chat.messages, tools=chat.tools, add_generation_prompt=False)
    if len(rendered.ids) > max_len:
      too_long += 1          # truncating would cut the answer the demo exists to teach
      continue
    if chat.role == "challenger" and not demo_lib.fits_episode_budget(rendered.role_mask, **budget):
      over_budget += 1
      continue
    out.append((np.asarray(rendered.ids, np.int32), np.asarray(rendered.role_mask, np.float32)))
  if too_long or over_budget:
    logging.warning("bootstrap: of %d demos, %d exceed max_len=%d and %d challenger demos exceed "
                    "the challenge budgets (%s): skipped", len(chats), too_long, max_len,
                    over_budget, budget)
  if not out:
    raise ValueError(f"no demonstration fits max_len={max_len} and the challenge budgets")
  return out


def _scratch_start(ctx: RunContext, chats):
  """Tokenizer (trained, or copied from config.tokenizer.path) and random params on the mesh."""
  if processes.is_writer():        # process 0 writes it; the others read it after the barrier
    if ctx.config.tokenizer.path:
      ctx.tokenizer_path.parent.mkdir(parents=True, exist_ok=True)
      ctx.tokenizer_path.write_bytes(epath.Path(ctx.config.tokenizer.path).read_bytes())
    else:
      train_chat_sentencepiece(demo_lib.corpus_text(chats, ctx.config.chat.tool_schemas),
                               ctx.tokenizer_path, ctx.config.tokenizer.vocab_size)
  processes.barrier("tokenizer written")
  config = ctx.model_config()
  return config, training_programs.init_params(config, ctx.mesh)(jax.random.key(ctx.config.seed))


def run_bootstrap(ctx: RunContext) -> dict:
  cfg = ctx.config.bootstrap
  t0 = time.time()
  executor = demo_lib.executor_demos(ctx.families, cfg.executor_demos_per_family, cfg.demo_seed,
                                     num_seeds=cfg.demo_task_seeds)
  # A config written before the field existed has none: every kind.
  kinds = [k.strip() for k in cfg.get("challenger_demo_kinds", "").split(",") if k.strip()]
  unknown = [k for k in kinds if k.split("/", 1)[0] not in ctx.families]
  if unknown:
    raise ValueError(f"bootstrap.challenger_demo_kinds {unknown}: each must start with one of "
                     f"the run's families {list(ctx.families)}")
  challenger = demo_lib.challenger_demos(ctx.families, cfg.challenger_demos_per_family,
                                         cfg.demo_seed, kinds)
  chats = executor + challenger
  if ctx.init.pretrained:
    overrides = training_overrides(dict(ctx.config.model), ctx.init)
    config, params, _ = load_pretrained(ctx.init, ctx.mesh, overrides, ctx.tokenizer_dir,
                                        preset=ctx.config.model.get("preset"))
  else:
    config, params = _scratch_start(ctx, chats)
  load_seconds = time.time() - t0
  examples = _examples(ctx, chats, cfg.max_len) if cfg.steps or cfg.copy_steps else []
  logging.info("bootstrap: %d executor + %d challenger demos, %d tokens", len(executor),
               len(challenger), sum(len(e[0]) for e in examples))

  # One schedule over both stages: the copy stage (0 steps by default) then the demos.
  total_steps = cfg.copy_steps + cfg.steps
  losses, copy_losses, rows, epochs = [], [], 0, 0
  if total_steps:
    optimizer, _ = sft_optimizer_from_config(cfg, config.frozen_layers)
    spec = TrainSpec(config, optimizer, ctx.mesh)
    state = training_programs.create_state(spec)(params, jax.random.key(ctx.config.seed + 1))
    del params
    programs = ProgramTable()

    def step(state, batch):
      # Every process builds the same batch (same demos, same seed); each places its devices'
      # rows, so the batch is one global array however many processes share the mesh.
      batch = tuple(jax.make_array_from_callback(x.shape, sharding, lambda index, x=x: x[index])
                    for x, sharding in zip(batch, batch_shardings(batch, ctx.mesh)))
      return programs.get(tuple(x.shape for x in batch),
                          lambda: training_programs.sft_step(spec, batch))(state, *batch)

    rng = np.random.default_rng(ctx.config.seed)
    if cfg.copy_steps:
      pool = np.concatenate([ids for ids, _ in examples])
      progress = Progress("bootstrap copy", cfg.copy_steps)
      for i in range(cfg.copy_steps):
        batch = copy_batch(pool, rng, batch_size=cfg.copy_batch_size, length=cfg.copy_len,
                           bos_id=config.bos_id)
        state, metrics = step(state, batch)
        copy_losses.append(float(metrics["loss"]))
        progress.update(i + 1, loss=copy_losses[-1])
    if cfg.steps:
      batches = DemoBatches(examples, batch_tokens=cfg.batch_tokens,
                            length_multiple=cfg.length_multiple, max_len=cfg.max_len, rng=rng,
                            row_multiple=ctx.mesh.shape["data"] * ctx.mesh.shape["fsdp"])
      progress = Progress("bootstrap SFT", cfg.steps)
      for i in range(cfg.steps):
        batch = batches.next()
        rows += len(batch[0])
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss"]))
        progress.update(i + 1, loss=losses[-1])
      epochs = batches.epochs
    params = state.params
  with Checkpointer(ctx.path("checkpoints", "bootstrap"), max_to_keep=1) as ckpt:
    ckpt.save_params(total_steps, params, {"model_config": config.to_dict(), "phase": "bootstrap",
                                           "init": ctx.init.spec})
  return {"init": ctx.init.spec, "load_seconds": load_seconds,
          "executor_demos": len(executor), "challenger_demos": len(challenger),
          "sft_examples": len(examples), "copy_steps": cfg.copy_steps,
          "copy_final_loss": float(np.mean(copy_losses[-5:])) if copy_losses else None,
          "sft_steps": cfg.steps, "sft_rows": rows, "sft_epochs": epochs,
          "first_loss": losses[0] if losses else None,
          "final_loss": float(np.mean(losses[-5:])) if losses else None,
          "vocab_size": config.vocab_size, "seconds": time.time() - t0}
