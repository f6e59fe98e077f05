"""Llama-3.1-70B self-challenging GRPO on a v5p-256 slice (128 chips of 95 GiB, 32 hosts).

  bash launch/tpu/create.sh configs/llama31_70b_v5p_256.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_70b_v5p_256.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_70b_v5p_256.py

Mesh 1 x 16 x 8 (topology v5p:4x4x8): fp32 master params + Adam moments are 1.1 TB, 8.8 GiB per
chip over 128 chips; tensor 8 keeps the sampler's params copy (replicated over fsdp) at 1/8 of the
model per chip. One 4096-token rollout per FSDP row in the update; remat keeps the weight-matmul
outputs. Calculation and web browsing (retail / airline prompts need ~5k tokens).
"""

import ml_collections

from configs import tiny_cpu


def get_config() -> ml_collections.ConfigDict:
  c = tiny_cpu.get_config()
  c.families = "calculation,web_browsing"
  c.mesh = (1, 16, 8)
  c.model = ml_collections.ConfigDict(dict(
      preset="llama3.1-70b", param_dtype="float32", compute_dtype="bfloat16", remat=True,
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
      topology="v5p:4x4x8", accelerator_type="v5p-256", zone="us-east5-a",
      name="selfchallenge-70b-v5p256", runtime_version="v2-alpha-tpuv5",
      workdir="gs://selfchallenge-runs/llama31_70b_v5p_256"))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=1024))
  return c
