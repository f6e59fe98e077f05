"""Llama-3.1-8B self-challenging GRPO on a v4-128 slice (64 chips of 32 GiB, 16 hosts).

  bash launch/tpu/create.sh configs/llama31_8b_v4_128.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_8b_v4_128.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v4_128.py

Mesh 1 x 16 x 4 (topology v4:4x4x4), one 4096-token rollout per FSDP row in the update, a
4096-token context (calculation and web browsing; retail / airline need ~5k-token prompts).
fp32 master params, bf16 activations, remat keeping the weight-matmul outputs.
"""

import ml_collections

from configs import tiny_cpu


def get_config() -> ml_collections.ConfigDict:
  c = tiny_cpu.get_config()
  c.families = "calculation,web_browsing"
  c.mesh = (1, 16, 4)
  c.model = ml_collections.ConfigDict(dict(
      preset="llama3.1-8b", param_dtype="float32", compute_dtype="bfloat16", remat=True,
      remat_policy="dots_with_no_batch_dims_saveable"))
  # The Llama 3 tiktoken file (original/tokenizer.model of the HF repo), copied by install.sh.
  c.tokenizer = ml_collections.ConfigDict(dict(vocab_size=128256,
                                               path="/tmp/llama3/tokenizer.model"))
  c.bootstrap.update(batch_size=32, lr=1e-5, max_len=4096, steps=200)
  c.sampling.update(cache_len=4096, num_slots=64, chunk_steps=32, max_turns=8,
                    max_turn_tokens=512, max_episode_tokens=2048)
  c.eval.update(tasks_per_family=100, k=4)
  c.challenge.update(tasks_per_family=500, max_turn_tokens=2048, max_episode_tokens=4096)
  c.rl.update(steps=200, tasks_per_batch=2, group_size=8, lr=1e-6, warmup_steps=10,
              weight_decay=0.01, kl_beta=0.04, loss_agg="seq_mean_token_mean",
              skip_if_no_tasks=False)
  c.checkpoint.update(every_steps=20, keep=3)
  c.sandbox.update(num_workers=32)
  c.tpu = ml_collections.ConfigDict(dict(
      topology="v4:4x4x4", accelerator_type="v4-128", zone="us-central2-b",
      name="selfchallenge-8b-v4-128", runtime_version="tpu-ubuntu2204-base",
      workdir="gs://selfchallenge-runs/llama31_8b_v4_128"))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=1024))
  return c
