"""The shared shape of the Llama-3.1 TPU pod configs (configs/llama31_*.py): one builder, so a new
slice is a few lines of what differs (preset, mesh, topology, context) and nothing is copied.

All of them: fp32 master params and Adam moments (an RL learning rate of 1e-6 vanishes in bf16
params), bf16 activations, remat keeping the weight-matmul outputs (dots_with_no_batch_dims_saveable)
so the update costs ~6 x params FLOPs. They start from the pretrained instruct model, as the paper
does: `init=hf:gs://...` (safetensors + config.json + tokenizer.json + tokenizer_config.json with
its chat template, e.g. as `huggingface-cli download` writes them, copied to GCS), imported straight
into its shardings; the tokenizer and chat format are the checkpoint's. The preset stays named: it
is what `launch.aot_check` compiles, and the bootstrap refuses a checkpoint of another architecture
before reading its weights. Point at your copy with --config.init=hf:gs://BUCKET/DIR.

Contexts:
  long:  8192-token cache, 4096-token episodes, all four families (retail / airline prompts, tools
         plus policy, need ~5k Llama 3 tokens).
  short: 4096-token cache, 2048-token episodes, calculation and web browsing only: for chips whose
         HBM cannot hold the long context's KV cache next to the train state.
"""

import ml_collections

from configs import tiny_cpu

_CONTEXTS = {
    "long": dict(families="calculation,web_browsing,retail,airline", cache_len=8192, max_turns=12,
                 max_turn_tokens=1024, max_episode_tokens=4096, aot_prefill_len=2048),
    "short": dict(families="calculation,web_browsing", cache_len=4096, max_turns=8,
                  max_turn_tokens=512, max_episode_tokens=2048, aot_prefill_len=1024),
}


# Where the pod configs expect each preset's HF instruct checkpoint (override with --config.init).
PRETRAINED = {
    "llama3.1-8b": "hf:gs://selfchallenge-models/Llama-3.1-8B-Instruct",
    "llama3.1-70b": "hf:gs://selfchallenge-models/Llama-3.1-70B-Instruct",
}


def pod_config(*, preset: str, mesh: tuple[int, int, int], context: str, tpu: dict,
               num_slots: int = 64, tasks_per_batch: int = 2) -> ml_collections.ConfigDict:
  """A GRPO pod config. `tpu`: topology (AOT), accelerator_type, zone, name (the TPU VM),
  runtime_version, workdir (the default gs:// workdir), as launch/tpu/*.sh read them; checked,
  with the mesh against the topology, by selfchallenge_jax/aot/tpu_config.make_plan."""
  if context not in _CONTEXTS:
    raise ValueError(f"context must be one of {sorted(_CONTEXTS)}, got {context!r}")
  ctx = _CONTEXTS[context]
  if preset not in PRETRAINED:
    raise ValueError(f"no pretrained checkpoint known for preset {preset!r}: add it to PRETRAINED")
  c = tiny_cpu.get_config()
  c.init = PRETRAINED[preset]
  c.families = ctx["families"]
  c.mesh = mesh
  c.model = ml_collections.ConfigDict(dict(
      preset=preset, param_dtype="float32", compute_dtype="bfloat16", remat=True,
      remat_policy="dots_with_no_batch_dims_saveable"))
  c.tokenizer = ml_collections.ConfigDict(dict(vocab_size=0, path=""))     # the checkpoint's own
  c.chat.update(format="auto", tool_schemas="json")   # the template's; JSON tool schemas as
  #                                                     Llama 3.1 instruct was tuned on
  c.bootstrap.update(batch_tokens=32 * ctx["cache_len"], lr=1e-5, max_len=ctx["cache_len"],
                     steps=200)
  c.sampling.update(cache_len=ctx["cache_len"], num_slots=num_slots, chunk_steps=32,
                    max_turns=ctx["max_turns"], max_turn_tokens=ctx["max_turn_tokens"],
                    max_episode_tokens=ctx["max_episode_tokens"])
  c.eval.update(tasks_per_family=100, k=4)
  c.challenge.update(tasks_per_family=500, max_turn_tokens=2048, max_episode_tokens=4096)
  c.rl.update(steps=200, tasks_per_batch=tasks_per_batch, group_size=8, lr=1e-6,
              warmup_steps=10, weight_decay=0.01, kl_beta=0.04, loss_agg="seq_mean_token_mean",
              skip_if_no_tasks=False)
  c.checkpoint.update(every_steps=20, keep=3)
  c.sandbox.update(num_workers=32)
  c.tpu = ml_collections.ConfigDict(dict(tpu))
  c.aot = ml_collections.ConfigDict(dict(prefill_len=ctx["aot_prefill_len"]))
  return c
