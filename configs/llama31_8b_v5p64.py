"""Llama-3.1-8B self-challenging GRPO on a v5p-64 slice (32 chips, 4 hosts): the first pod run.

  bash launch/tpu/create.sh configs/llama31_8b_v5p64.py     # then install.sh, run.sh
  python -m launch.main --config=configs/llama31_8b_v5p64.py --workdir=gs://BUCKET/run1
  /work/venvs/tpu/bin/python -m launch.aot_check --config=configs/llama31_8b_v5p64.py

fp32 master params and Adam moments (an RL learning rate of 1e-6 vanishes in bf16 params), bf16
activations; remat keeps the weight-matmul outputs (dots_with_no_batch_dims_saveable), so the
update costs ~6 x params FLOPs. Mesh 1 x 16 x 2: FSDP over 16, tensor 2 keeps the sampler's
params copy (replicated over fsdp) at half the model per chip.
"""

import ml_collections

from configs import tiny_cpu


def get_config() -> ml_collections.ConfigDict:
  c = tiny_cpu.get_config()
  c.families = "calculation,web_browsing,retail,airline"
  c.mesh = (1, 16, 2)
  c.model = ml_collections.ConfigDict(dict(
      preset="llama3.1-8b", param_dtype="float32", compute_dtype="bfloat16", remat=True,
      remat_policy="dots_with_no_batch_dims_saveable"))
  # The Llama 3 tiktoken file (original/tokenizer.model of the HF repo), copied by install.sh.
  c.tokenizer = ml_collections.ConfigDict(dict(vocab_size=128256,
                                               path="/tmp/llama3/tokenizer.model"))
  c.bootstrap.update(batch_size=32, lr=1e-5, max_len=8192, steps=200)
  c.sampling.update(cache_len=8192, num_slots=64, chunk_steps=32, max_turns=12,
                    max_turn_tokens=1024, max_episode_tokens=4096)
  c.eval.update(tasks_per_family=100, k=4)
  c.challenge.update(tasks_per_family=500, max_turn_tokens=2048, max_episode_tokens=4096)
  c.rl.update(steps=200, tasks_per_batch=2, group_size=8, lr=1e-6, warmup_steps=10,
              weight_decay=0.01, kl_beta=0.04, loss_agg="seq_mean_token_mean",
              skip_if_no_tasks=False)
  c.checkpoint.update(every_steps=20, keep=3)
  c.sandbox.update(num_workers=32)
  c.tpu = ml_collections.ConfigDict(dict(
      topology="v5p:2x4x4", accelerator_type="v5p-64", zone="us-east5-a",
      name="selfchallenge-8b-v5p64", runtime_version="v2-alpha-tpuv5",
      workdir="gs://selfchallenge-runs/llama31_8b_v5p64"))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=2048))
  return c
