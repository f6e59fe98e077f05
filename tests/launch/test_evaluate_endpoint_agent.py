"""launch.evaluate with the agent behind an OpenAI-compatible endpoint, on M3ToolEval-layout files
written here: a test double of an external API answers each task with an answer string of the
hand-computed table (tests/m3_answer_table.py, the table the answer checks' own test uses), and
the journal's per-task verdicts must equal the table's, for both answer checks. The double drops
some first requests (HTTP 503): the agent's requests are retried, as any endpoint's."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from endpoint_double import ScriptedEndpoint
from m3_answer_table import RECORDS, TABLE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = {r["name"]: r for r in RECORDS}
# One task per table row: the row's task, its instruction marked with the row number (which is
# how the double knows what to answer).
CASES = [(f"{task}/case{i}", answer, strict, m3)
         for i, (task, answer, strict, m3) in enumerate(TABLE)]
_CASE = re.compile(r"\(case (\d+)\)$")


def _env():
  return {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}


def _evaluate(*args):
  return subprocess.Popen([sys.executable, "-m", "launch.evaluate", *args], cwd=ROOT, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def bench(tmp_path):
  bench = tmp_path / "m3tooleval"
  bench.mkdir()
  records = [{"name": case_id, "instruction": f"{BASE[task]['instruction']} (case {i})",
              "expected_output": BASE[task]["expected_output"]}
             for i, ((case_id, *_), (task, *_)) in enumerate(zip(CASES, TABLE))]
  (bench / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
  return bench


class AnswerTable:
  """The double's script: each task's first request answered with its row's answer string;
  every fourth task's first request dropped with a 503 (retried by the client)."""

  def __init__(self):
    self.dropped = set()

  def __call__(self, body):
    case = int(_CASE.search(body["messages"][1]["content"]).group(1))
    if case % 4 == 0 and case not in self.dropped:
      self.dropped.add(case)
      return 503
    return {"role": "assistant", "content": CASES[case][1]}


def test_verdicts_through_launch_evaluate_match_the_table(bench, tmp_path):
  checks = ("strict", "m3tooleval")
  doubles = {check: ScriptedEndpoint(AnswerTable(), model="api-model") for check in checks}
  for double in doubles.values():
    double.__enter__()
  try:                           # both checks at once, each against its own double
    runs = {check: _evaluate(f"--agent_url={doubles[check].url}", "--agent_model=api-model",
                             f"--benchmark=m3tooleval:{bench}", f"--answer_check={check}",
                             f"--out={tmp_path / check}")
            for check in checks}
    results = {check: run.communicate(timeout=300) for check, run in runs.items()}
  finally:
    for double in doubles.values():
      double.__exit__(None, None, None)
  for check, run in runs.items():
    assert run.returncode == 0, results[check][0][-2000:] + results[check][1][-3000:]

  for column, check in ((2, "strict"), (3, "m3tooleval")):
    episodes = [json.loads(line) for line in (tmp_path / check / "episodes.jsonl").read_text()
                .splitlines()]
    verdicts = {e["task_id"]: e["reward"] for e in episodes}
    assert verdicts == {case[0]: float(case[column]) for case in CASES}, check
    answers = {case[0]: case[1] for case in CASES}
    for e in episodes:     # one turn: the endpoint's answer, taken as the episode's answer
      assert e["end_reason"] == "env_done" and e["answer"] == answers[e["task_id"]]
      assert [m["role"] for m in e["messages"]] == ["system", "user", "assistant"]
      assert e["messages"][2]["content"] == answers[e["task_id"]]
    summary = json.loads((tmp_path / check / "summary.json").read_text())
    assert summary["envs"]["calculation"]["correct"] == sum(case[column] for case in CASES)
    stats = summary["agent_endpoint"]
    dropped = sum(1 for i in range(len(CASES)) if i % 4 == 0)
    assert stats["retries"] == dropped and stats["gave_up"] == [] and summary["unscored"] == []
    assert stats["calls"] == len(CASES)

  # What the endpoint was sent: the executor's opening (system prompt, the task as the user's
  # message), the calculation tools, the agent settings.
  body = doubles["strict"].requests[0]
  assert body["model"] == "api-model" and body["temperature"] == 0.0
  assert body["max_tokens"] == 1024 and isinstance(body["seed"], int)
  assert [m["role"] for m in body["messages"]] == ["system", "user"]
  assert "Answer:" in body["messages"][0]["content"]
  assert body["tools"] and all(t["type"] == "function" for t in body["tools"])


def _closed_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.parametrize("args,message", [
    (["--checkpoint=gguf:/x.gguf", "--agent_url=http://127.0.0.1:1/v1", "--agent_model=m"],
     "--checkpoint and --agent_url are exclusive"),
    (["--agent_url=http://127.0.0.1:1/v1"], "--agent_url needs --agent_model"),
    (["--agent_model=m"], "--agent_model needs --agent_url"),
    ([], "no agent: give --checkpoint"),
    (["--agent_url=127.0.0.1:8000", "--agent_model=m"], "must start with http://"),
    ([f"--agent_url=http://127.0.0.1:{_closed_port()}/v1", "--agent_model=m"],
     "agent endpoint http://127.0.0.1:"),
    (["--agent_url=http://127.0.0.1:1/v1", "--agent_model=m", "--user_backend=policy"],
     "--user_backend=policy needs a checkpoint"),
    (["--checkpoint=gguf:/x.gguf", "--user_checkpoint=/x"], "--user_checkpoint needs"),
    (["--checkpoint=gguf:/x.gguf", "--user_url=http://127.0.0.1:1/v1"], "--user_url needs"),
    (["--checkpoint=gguf:/x.gguf", "--max_turns=0"], "--max_turns must be >= 1"),
])
def test_bad_agent_flags_are_one_clear_line(bench, tmp_path, args, message):
  run = _evaluate(*args, f"--benchmark=m3tooleval:{bench}", f"--out={tmp_path / 'out'}")
  _, stderr = run.communicate(timeout=120)
  lines = [line for line in stderr.splitlines() if line.strip()]
  assert run.returncode == 1
  assert len(lines) == 1 and lines[0].startswith("launch.evaluate: error:"), stderr
  assert message in lines[0]
  assert not (tmp_path / "out").exists()
