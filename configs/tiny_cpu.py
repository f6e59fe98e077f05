"""The CPU miniature of self-challenging training: the README's main job.

  python -m launch.main --config=configs/tiny_cpu.py --workdir=/tmp/selfchallenge

Phases: bootstrap (train a SentencePiece tokenizer on project text; SFT a tiny Llama on scripted
expert and scripted challenger demonstrations), eval before, challenge (the model writes Code-as-Task
records, the sandbox filters them), train (GRPO on the kept tasks), eval after (held-out seeds the
challenger never saw), export (HF safetensors, loaded back by transformers), report.
Override anything: --config.rl.steps=5 --config.phases=bootstrap,eval_before
"""

import ml_collections
from ml_collections.config_dict import placeholder


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # Where the policy starts: scratch (this tiny model, trained here), hf:DIR or gguf:FILE
  # (pipeline/init_source.py; configs/smollm2_cpu.py starts from SmolLM2-135M-Instruct).
  c.init = "scratch"
  c.phases = "bootstrap,eval_before,challenge,train,eval_after,export,report"
  # Retail/airline prompts (tools + policy) need ~5k tokens: beyond the miniature's context.
  c.families = "calculation,web_browsing"
  c.mesh = (1, -1, 1)                 # (data, fsdp, tensor); -1 = the rest of the devices

  c.model = ml_collections.ConfigDict(dict(
      preset="tiny", d_model=128, num_layers=4, num_heads=4, num_kv_heads=2, mlp_dim=384,
      max_seq_len=4096, param_dtype="float32", compute_dtype="float32", remat=False,
      attention_query_block=128))
  # 4096 pieces: fewer tokens a demo than at 1024 (the JSON tool listing was ~1000 tokens at 4096,
  # ~1400 at 1024), so more demos fit the 2048-token context and SFT attends over shorter rows.
  c.tokenizer = ml_collections.ConfigDict(dict(vocab_size=4096, path=""))   # path: use a file
  # tool_schemas: "json" (HF's Llama 3.1 template, ~150 tokens a tool) or "signatures" (one line a
  # tool, ~1/3 of the tokens): the miniature trains from scratch on its format, and the JSON listing
  # would make its prompts ~1000 tokens, most of every SFT and rollout step's attention.
  c.chat = ml_collections.ConfigDict(dict(format="llama3", tool_schemas="signatures"))

  # demo_task_seeds: executor demos come from task seeds demo_seed .. demo_seed + 7 (eight web
  # sites, not one: a single site's URLs are all a model could learn from it).
  # copy_steps: synthetic copy batches (pipeline/copy_pretrain.py) before the demos. Off by default:
  # 300 steps cost ~8 min here; they lower the validation NLL a lot but solve no task yet (RESULTS.md).
  # challenger_demo_kinds: comma-separated task kinds ("web_browsing/price", or a prefix such as
  # "calculation/dna_sequencer") the challenger demos are restricted to, per family; "" = all.
  c.bootstrap = ml_collections.ConfigDict(dict(
      executor_demos_per_family=48, challenger_demos_per_family=16, steps=120, batch_tokens=8192,
      length_multiple=256,
      lr=3e-3, warmup_steps=10, max_len=2048, demo_seed=1, demo_task_seeds=8,
      challenger_demo_kinds="", copy_steps=0, copy_batch_size=32, copy_len=256))

  c.sampling = ml_collections.ConfigDict(dict(
      cache_len=2048, num_slots=16, chunk_steps=16, temperature=1.0, top_p=1.0, max_turns=6,
      max_turn_tokens=96, max_episode_tokens=320,
      # Extend and decode shapes (rollout/engine.py): rows >= 8, every pending row in one extend,
      # decode chunks on all slots. At the tiny size compiles cost more than padding, so fewer
      # shapes win even on CPU.
      min_extend_rows=8, extend_overhead_tokens=-1, compact_decode=False))

  # 24 tasks x 4 samples a family (~1 min an eval here): with 12 x 2, one lucky episode moved a
  # family's pass@1 by 4.2 points, as large as anything the miniature can show.
  c.eval = ml_collections.ConfigDict(dict(tasks_per_family=24, k=4, seed=900_000))
  # backend: policy (the model being trained) | endpoint (OpenAI-compatible server) | scripted
  # (a challenger that is always right: for tests and upper-bound runs).
  # The scripted challenger demos' final record is up to ~420 tokens and a whole episode up to
  # ~560 sampled tokens: the turn and episode budgets must hold them, or records are cut off.
  c.challenge = ml_collections.ConfigDict(dict(
      tasks_per_family=24, seed=500_000, backend="policy", endpoint_url="", endpoint_model="",
      max_turn_tokens=512, max_episode_tokens=640,
      # The challenger's sampling temperature; < 0: sampling.temperature.
      temperature=-1.0))
  c.rl = ml_collections.ConfigDict(dict(
      algorithm="grpo", steps=12, tasks_per_batch=4, group_size=4, lr=1e-3, warmup_steps=2,
      weight_decay=0.0, clip_norm=1.0, grad_accum_steps=1,
      # The algorithm's hyper-parameters (rl/grpo.GRPOConfig's fields; success_reward and
      # num_updates_per_batch for rft). None: the algorithm's own value, so that
      # --config.rl.algorithm=dapo or dr_grpo gets that variant's settings.
      kl_beta=0.0, clip_eps_low=placeholder(float), clip_eps_high=0.28, loss_agg="token_mean",
      normalize_std=placeholder(bool), drop_zero_variance=placeholder(bool), adv_eps=placeholder(float),
      num_updates_per_batch=placeholder(int), success_reward=placeholder(float),
      # micro_batch_rows > 0: the update sums the gradients of micro-batches of that many rows
      # (group_size: one GRPO group each), leaving out rows without a gradient (all-equal groups)
      # and trimming each to its own length (train/micro_batches.py). 0: one full-batch update.
      micro_batch_rows=0, micro_length_multiple=256,
      # Sample batch k+1 while batch k's verifiers run (batch k+1 is then one update behind);
      # off: on-policy, verification overlaps only the decoding of the batch's other slots.
      overlap_next_batch=False,
      # The miniature's challenger may keep no task in a round; the report then says training was
      # skipped. Off by default elsewhere: an empty dataset is an error before any compute.
      skip_if_no_tasks=True))
  c.checkpoint = ml_collections.ConfigDict(dict(every_steps=5, keep=2))
  c.sandbox = ml_collections.ConfigDict(dict(num_workers=2))
  return c
