"""A tau-bench task file evaluated by launch.evaluate with the simulated user played by a model
behind our own server (`launch.serve`, user.backend=endpoint), or by the same checkpoint inside
launch.evaluate (user.backend=policy), reproduces tau-bench's reward on known trajectories.

Everything is written here: a tau-bench-layout retail data dir and task file (two tasks), a tiny
checkpoint trained to memorise the user's replies to those two conversations (tests/memorise.py;
greedy decoding then says them exactly), served by `python -m launch.serve`. The agent is a
scripted endpoint double (tests/endpoint_double.py) playing a known action trajectory per task:
the gold actions and the required output (tau-bench's reward 1), or the task's lookups without
its write (0). The expected rewards are worked out here from tau-bench's rule (final database
hash == the hash after the gold actions, and every output said), by replaying the journaled
actions in a fresh environment, not by envs/tau_reward.py.
"""

import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.checkpoint.manager import Checkpointer
from selfchallenge_jax.envs.retail.data import retail_data_json
from selfchallenge_jax.envs.retail.tasks import generate_benchmark_tasks as retail_tasks
from selfchallenge_jax.envs.simulated_user import STOP_MARKER, USER_SYSTEM_PROMPT
from selfchallenge_jax.model import get_config
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format
from selfchallenge_jax.tokenizer.tool_calls import format_tool_call
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece

from endpoint_double import ScriptedEndpoint
from memorise import train_to_memorise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DB_SEED = 1          # not the envs' default 0: a loader that ignored the data dir would fail
CACHE_LEN = 512
OPENING = "Hi! How can I help you today?"      # ModelUser's first "user" turn (the agent's)


def _env():
  return {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


def _tasks():
  """Two tau-bench records and, per task, the user's lines and the agent's known trajectory."""
  generated = retail_tasks(8, seed=4, db_seed=DB_SEED)
  cancel, count, payment = generated[0], generated[7], generated[4]
  assert cancel.gold_actions[-1]["name"] == "cancel_pending_order" and count.required_outputs
  assert payment.gold_actions[-1]["name"] == "modify_pending_order_payment"
  gold0 = list(cancel.gold_actions) + [a for a in count.gold_actions
                                       if a not in cancel.gold_actions]
  output = count.required_outputs[0]
  records = [
      {"annotator": "0", "user_id": "u0", "instruction": cancel.instruction + " Also: "
       + count.instruction.split(". ", 1)[1], "actions": gold0, "outputs": [output]},
      {"annotator": "0", "user_id": "u1", "instruction": payment.instruction,
       "actions": list(payment.gold_actions), "outputs": []},
  ]
  # Task 0: every gold action, then the output said: tau-bench's reward 1.
  # Task 1: the lookups but not the write, then a claim that it was done: reward 0.
  scripts = [
      {"user_first": "Hi, I want to cancel an order and ask about yoga mats.",
       "steps": gold0, "say": f"The order is cancelled. There are {output} Yoga Mat items."},
      {"user_first": "Hello, I would like to change how I pay for an order.",
       "steps": list(payment.gold_actions[:-1]), "say": "Your payment method is updated."},
  ]
  return records, scripts


def _write_layout(root, records):
  """tau_bench/envs/retail/{data/<table>.json, tasks_test.py} as tau-bench ships them."""
  data_dir = root / "retail" / "data"
  data_dir.mkdir(parents=True)
  for name, value in json.loads(retail_data_json(DB_SEED)).items():
    (data_dir / f"{name}.json").write_text(json.dumps(value))
  lines = ["from tau_bench.types import Action, Task", "", "TASKS_TEST = ["]
  for r in records:
    actions = ", ".join(f"Action(name={a['name']!r}, kwargs={a['arguments']!r})"
                        for a in r["actions"])
    lines.append(f"    Task(annotator={r['annotator']!r}, user_id={r['user_id']!r}, "
                 f"instruction={r['instruction']!r}, actions=[{actions}], "
                 f"outputs={r['outputs']!r}),")
  (root / "retail" / "tasks_test.py").write_text("\n".join(lines + ["]", ""]))
  return data_dir


def _user_chats(records, scripts):
  """The simulated user's two conversations, from its side (ModelUser's layout), to the end."""
  chats = []
  for record, script in zip(records, scripts):
    system = USER_SYSTEM_PROMPT.format(instruction=record["instruction"], stop=STOP_MARKER)
    chats.append([{"role": "system", "content": system}, {"role": "user", "content": OPENING},
                  {"role": "assistant", "content": script["user_first"]},
                  {"role": "user", "content": script["say"]},
                  {"role": "assistant", "content": STOP_MARKER}])
  return chats


def _write_user_checkpoint(root, chats):
  """A tiny Llama that says the user's lines, saved as an orbax checkpoint with its tokenizer and
  chat settings (what launch.serve opens)."""
  ckpt = root / "user_ckpt"
  corpus = [m["content"] for chat in chats for m in chat] * 20
  train_chat_sentencepiece(corpus, ckpt / "tokenizer.model", 1500)
  tokenizer = load_tokenizer(ckpt / "tokenizer.model")
  chat_format = make_chat_format("llama3", tokenizer)
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, bos_id=tokenizer.bos_id,
                      eos_id=tokenizer.eos_id, max_seq_len=CACHE_LEN, remat=False)
  rendered = [chat_format.render(c, add_generation_prompt=False) for c in chats]
  assert max(len(r.ids) for r in rendered) < CACHE_LEN - 64       # room for a reply
  params = train_to_memorise(config, rendered, steps=120)    # ~0.002 loss: 2 chats, short replies
  saver = Checkpointer(ckpt, async_save=False)
  saver.save_params(0, params, {"model_config": config.to_dict(),
                                "run_config": {"chat": {"format": "llama3",
                                                        "tool_schemas": "json"}}})
  saver.wait()
  saver.close()
  return ckpt


class Serve:
  """`python -m launch.serve` on 127.0.0.1 (any free port), stopped on exit."""

  def __init__(self, checkpoint):
    self.process = subprocess.Popen(
        [sys.executable, "-m", "launch.serve", f"--checkpoint={checkpoint}", "--port=0",
         "--model_name=user-model", "--num_slots=4", "--max_tokens=48",
         f"--cache_len={CACHE_LEN}", "--chunk_steps=8", "--temperature=0"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    self.lines = queue.Queue()
    threading.Thread(target=self._read, daemon=True).start()

  def _read(self):
    for line in self.process.stdout:
      self.lines.put(line)
    self.lines.put(None)

  def url(self, timeout=120):
    seen = []
    while True:
      line = self.lines.get(timeout=timeout)
      if line is None:
        raise AssertionError("launch.serve exited:\n" + "".join(seen)[-3000:])
      seen.append(line)
      if m := re.search(r"at (http://127\.0\.0\.1:\d+/v1)", line):
        return m.group(1)

  def close(self):
    self.process.terminate()
    try:
      self.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
      self.process.kill()
      self.process.wait()


class Trajectories:
  """The agent double: which task it is in (the user's first line), and how far (its own turns
  so far) picks the next step. The first action is written as text, a JSON call in our chat
  format's spelling (read by our parser); the others come as OpenAI tool_calls."""

  def __init__(self, scripts):
    self.scripts = {s["user_first"]: s for s in scripts}

  def __call__(self, body):
    messages = body["messages"]
    script = self.scripts.get(messages[1]["content"])
    if script is None:
      return {"role": "assistant", "content": f"unknown user line {messages[1]['content']!r}"}
    turn = sum(1 for m in messages if m["role"] == "assistant")
    if turn == len(script["steps"]):
      return {"role": "assistant", "content": script["say"]}
    step = script["steps"][turn]
    if turn == 0:
      return {"role": "assistant", "content": format_tool_call(step["name"], step["arguments"])}
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{turn}", "type": "function",
         "function": {"name": step["name"], "arguments": json.dumps(step["arguments"])}}]}


def _db_hash(data):
  return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _tau_bench_reward(data_dir, record, episode):
  """tau-bench's rule, applied here: replay the episode's tool calls and the gold actions on
  fresh copies of the database; reward 1 iff the hashes agree and every output was said
  (lowercased, commas removed from the agent's messages)."""
  final, gold = (envs.make("retail", data_dir=str(data_dir)) for _ in range(2))
  for action in episode["actions"]:
    if action["kind"] == "tool":
      final.call_tool(action["name"], action["arguments"])
  for action in record["actions"]:
    assert not gold.call_tool(action["name"], action["arguments"]).startswith("Error")
  said = [a["content"].lower().replace(",", "") for a in episode["actions"]
          if a["kind"] == "respond"]
  outputs = all(any(o.lower() in m for m in said) for o in record["outputs"])
  return float(_db_hash(final.state()) == _db_hash(gold.state()) and outputs)


@pytest.fixture(scope="module")
def tau_files(tmp_path_factory):
  """The task records, the agent's scripts, the tau-bench data dir and the user checkpoint."""
  root = tmp_path_factory.mktemp("tau")
  records, scripts = _tasks()
  data_dir = _write_layout(root / "tau", records)
  return records, scripts, data_dir, _write_user_checkpoint(root, _user_chats(records, scripts))


@pytest.mark.parametrize("backend", ["endpoint", "policy"])
def test_model_user_and_known_trajectories_reproduce_tau_bench_reward(tmp_path, tau_files,
                                                                      backend):
  """endpoint: the user model behind `launch.serve`; policy: the same checkpoint run inside
  launch.evaluate (--user_backend=policy --user_checkpoint)."""
  records, scripts, data_dir, checkpoint = tau_files
  server = Serve(checkpoint) if backend == "endpoint" else None
  try:
    if server is not None:
      user_flags = ["--user_backend=endpoint", f"--user_url={server.url()}",
                    "--user_model=user-model"]
    else:
      user_flags = ["--user_backend=policy", f"--user_checkpoint={checkpoint}",
                    "--user_max_tokens=48", "--user_slots=4"]
    with ScriptedEndpoint(Trajectories(scripts), model="agent") as agent_url:
      out = tmp_path / "out"
      r = subprocess.run(
          [sys.executable, "-m", "launch.evaluate", f"--agent_url={agent_url}",
           "--agent_model=agent", f"--benchmark=taubench-retail:{data_dir}", *user_flags,
           f"--out={out}", "--config=configs/smollm2_cpu.py", "--max_turns=12",
           f"--config.sampling.cache_len={CACHE_LEN}"],
          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
  finally:
    if server is not None:
      server.close()
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
  episodes = {e["task_id"]: e for e in
              (json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines())}
  assert sorted(episodes) == ["retail-tasks_test-0", "retail-tasks_test-1"]
  expected = []
  for i, (record, script) in enumerate(zip(records, scripts)):
    episode = episodes[f"retail-tasks_test-{i}"]
    # The user was our server's model: its memorised opening, and the stop marker at the end.
    assert episode["messages"][1] == {"role": "user", "content": script["user_first"]}
    assert episode["end_reason"] == "env_done", episode["end_reason"]
    tools = [(a["name"], a["arguments"]) for a in episode["actions"] if a["kind"] == "tool"]
    assert [name for name, _ in tools] == [s["name"] for s in script["steps"]]
    assert [a["reply"] for a in episode["actions"] if a["kind"] == "respond"] == [STOP_MARKER]
    expected.append(_tau_bench_reward(data_dir, record, episode))
    assert episode["reward"] == expected[-1]
  assert expected == [1.0, 0.0]         # one trajectory of each kind
  summary = json.loads((out / "summary.json").read_text())
  assert summary["envs"]["retail"]["correct"] == 1 and summary["unscored"] == []
  assert summary["user_endpoint"]["calls"] == 4 and summary["user_endpoint"]["gave_up"] == []
