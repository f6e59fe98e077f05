"""launch.evaluate end to end on a tiny GGUF and M3ToolEval-layout files written here: the journal,
the summary's metrics, resuming a killed evaluation without scoring anything twice, bad input."""

import json
import os
import subprocess
import sys

import pytest

from gguf_files import tiny_chat_gguf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDS = [
    {"name": "message_decoder/a", "instruction": "Decode 48656c6c6f from hex.",
     "expected_output": "Hello"},
    {"name": "trade_calculator/b", "instruction": "What is 2 + 3?", "expected_output": 5},
    {"name": "web_browsing/c", "instruction": "Find the email of Ann.", "expected_output": "a@b.c"},
]
PAGES = [{"name": "/", "content": "Team: [Ann](/ann)"}, {"name": "/ann", "content": "a@b.c"}]
FAST = ["--config.sampling.num_slots=4", "--config.sampling.max_turn_tokens=8",
        "--config.sampling.max_turns=2", "--config.sampling.cache_len=1024"]


def _evaluate(*args):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  return subprocess.run([sys.executable, "-m", "launch.evaluate", *args], capture_output=True,
                        text=True, timeout=600, env=env, cwd=ROOT)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  root = tmp_path_factory.mktemp("m3")
  tiny_chat_gguf(root / "tiny.gguf")
  bench = root / "m3tooleval"
  bench.mkdir()
  (bench / "tasks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
  (bench / "web_pages.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAGES))
  return root


def _lines(path):
  return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_scores_journals_summarises_and_resumes(files, tmp_path):
  out = tmp_path / "out"
  args = [f"--checkpoint=gguf:{files / 'tiny.gguf'}", f"--benchmark=m3tooleval:{files / 'm3tooleval'}",
          "--num_samples=2", "--k=2", f"--out={out}", "--config=configs/smollm2_cpu.py", *FAST]
  r = _evaluate(*args)
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
  episodes = _lines(out / "episodes.jsonl")
  assert len(episodes) == 6
  assert {(e["env"], e["task_id"], e["sample"]) for e in episodes} == {
      (env, rec["name"], s) for rec, env in zip(RECORDS, ["calculation"] * 2 + ["web_browsing"])
      for s in (0, 1)}
  for e in episodes:
    assert e["reward"] in (0.0, 1.0) and e["end_reason"] and isinstance(e["actions"], list)
    assert e["messages"][0]["role"] in ("system", "user")
  summary = json.loads((out / "summary.json").read_text())
  assert set(summary["envs"]) == {"calculation", "web_browsing"}
  assert summary["envs"]["calculation"]["episodes"] == 4 and summary["resumed_episodes"] == 0
  assert 0.0 <= summary["pass_hat_k"] <= summary["pass_at_1"] <= summary["pass_at_k"] <= 1.0
  assert "pass^2" in (out / "summary.md").read_text()
  assert "[evaluate]" in r.stderr and "eta" in r.stderr       # progress with ETA

  # Killed after 3 episodes, the last line half written: a rerun scores only the other 3.
  text = (out / "episodes.jsonl").read_text().splitlines(keepends=True)
  (out / "episodes.jsonl").write_text("".join(text[:3]) + text[3][:20])
  r = _evaluate(*args)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "3 already scored" in r.stdout
  again = _lines(out / "episodes.jsonl")
  assert again[:3] == episodes[:3] and len(again) == 6
  # Per-sample random streams: the resumed episodes are those an uninterrupted run drew.
  assert [e["text"] for e in again[3:]] == [e["text"] for e in episodes[3:]]
  assert json.loads((out / "summary.json").read_text())["resumed_episodes"] == 3

  # The same --out with other settings is refused, and nothing in it changes.
  r = _evaluate(*[a for a in args if not a.startswith("--num_samples")], "--num_samples=3")
  assert r.returncode == 1 and "other settings (num_samples)" in r.stderr
  assert _lines(out / "episodes.jsonl") == again


@pytest.mark.parametrize("spec,message", [
    ("m3tooleval", "expected NAME:PATH"),
    ("mmlu:x", "expected NAME:PATH"),
    ("m3tooleval:/nonexistent/tasks.jsonl", "M3ToolEval task file not found"),
    ("taubench-retail:/nonexistent", "tau-bench data directory /nonexistent not found"),
    ("generated:chess", "no generator for ['chess']"),
])
def test_bad_benchmark_is_one_clear_line_before_any_weight(tmp_path, spec, message):
  r = _evaluate("--checkpoint=gguf:/nonexistent.gguf", f"--benchmark={spec}",
                f"--out={tmp_path / 'out'}")
  assert r.returncode == 1
  lines = [line for line in r.stderr.splitlines() if line.strip()]
  assert len(lines) == 1 and lines[0].startswith("launch.evaluate: error:"), r.stderr
  assert message in lines[0]
  assert not (tmp_path / "out").exists()
