"""run_challenge with a scripted challenger: each kind of output gets exactly its reason, every
output is one record in the dataset, and the scripted good tasks of every family are kept."""

import collections

import pytest

from selfchallenge_jax.challenge import (ScriptedBackend, format_task_text, good_task_script,
                                         parse_challenger_output, run_challenge,
                                         scripted_challenger_texts)
from selfchallenge_jax.challenge.scripted import benchmark_instance, scripted_task_fields
from selfchallenge_jax.challenge.scripted_answer_tasks import answer_verifier
from selfchallenge_jax.tasks.check import Reason, check_tasks
from selfchallenge_jax.tasks.dataset_reader import open_task_source
from selfchallenge_jax.tasks.stored_record import KEPT_SPLIT, REJECTED_SPLIT


def _variant(kind, env_seed):
  """(exploration, final text) of one kind of challenger output for the calculation episode."""
  _, f = scripted_task_fields("calculation", env_seed)
  verifier, solution, failures = f["verifier"], f["solution"], f["failure_cases"]
  instruction = f["instruction"]
  if kind == "solution_fails":
    verifier = answer_verifier("-12345")
  elif kind == "failure_case_passes":
    verifier = 'def verify(state, answer, messages):\n  return "Answer:" in answer'
  elif kind == "loops_forever":
    verifier = "def verify(state, answer, messages):\n  while True:\n    pass"
  elif kind == "verifier_raises":
    verifier = "def verify(state, answer, messages):\n  return state['no such key']"
  elif kind == "invalid_action":
    solution = [{"name": "no_such_tool", "arguments": {}}] + solution
  elif kind == "garbage":
    return [], "The task: add two numbers. Solution: add them."
  elif kind == "no_failure_cases":
    failures = []
  elif kind == "duplicate_of_0":
    _, f0 = scripted_task_fields("calculation", 0)
    instruction = "  " + f0["instruction"].upper().replace(".", " . ")
    verifier = "# the same check\n" + f0["verifier"].replace("\n", "\n\n")
    solution, failures = f0["solution"], f0["failure_cases"]
  return f["exploration"], format_task_text(instruction, verifier, solution, failures)


KINDS = ["good", "solution_fails", "failure_case_passes", "loops_forever", "garbage",
         "duplicate_of_0", "no_failure_cases", "verifier_raises", "invalid_action", "good"]
EXPECTED = ["kept", "solution_fails", "failure_case_passes", "verifier_timeout", "unparseable",
            "duplicate", "no_failure_cases", "verifier_error", "solution_action_invalid", "kept"]


def test_each_kind_of_output_gets_its_reason_and_is_written(pool, tmp_path):
  backend = ScriptedBackend(lambda request: _variant(KINDS[request.stream_id], request.env_seed))
  stats = run_challenge(backend, ["calculation"], len(KINDS), pool=pool, seed=0,
                        dataset_dir=tmp_path / "ds", dataset_name="calc_scripted", version="1.0.0",
                        batch_size=4)
  assert [r.reason for r in stats.records] == EXPECTED
  kept = [r for r in stats.records if r.keep]
  assert [r.provenance["env_seed"] for r in kept] == [0, 9]
  for record in stats.records:
    assert record.provenance["family"] == "calculation"
    assert record.provenance["backend"] == "scripted" and record.provenance["end_reason"]
  assert stats.parse_errors == {"missing_task": 1, "no_failure_cases": 1}
  rates = stats.rates()
  assert rates["kept"] == pytest.approx(0.2)
  assert rates["solution_passes"] == pytest.approx(0.3)   # + failure_case_passes
  assert rates["verifier_runs"] == pytest.approx(0.4)     # + solution_fails
  assert rates["unparseable"] == pytest.approx(0.2) and rates["duplicates"] == pytest.approx(0.1)
  assert "10 outputs" in stats.summary()
  # The dataset holds every output exactly once, split by the decision.
  kept_source = open_task_source(tmp_path / "ds", KEPT_SPLIT)
  rejected_source = open_task_source(tmp_path / "ds", REJECTED_SPLIT)
  assert len(kept_source) == 2 and len(rejected_source) == 8
  stored = collections.Counter(r.reason for r in list(kept_source) + list(rejected_source))
  assert stored == collections.Counter(EXPECTED)
  garbage = next(r for r in rejected_source if r.reason == "unparseable")
  assert garbage.raw.startswith("The task") and garbage.task is None
  assert next(iter(kept_source)).task.provenance["source"] == "challenger"


@pytest.mark.parametrize("family, n", [("calculation", 4), ("web_browsing", 2), ("retail", 1),
                                       ("airline", 1)])
def test_scripted_good_tasks_are_kept(pool, family, n):
  # Seeds past the first few cover other task kinds of the tau generators (cancel is kind 0).
  seed = {"retail": 3, "airline": 1}.get(family, 0)
  items = scripted_challenger_texts(family, n, seed)
  tasks = [parse_challenger_output(i.text, env=family, env_kwargs=i.env_kwargs) for i in items]
  results = check_tasks(tasks, pool)
  assert [r.reason for r in results] == [Reason.KEPT] * n, [r.detail for r in results]
  assert all(len(t.failure_cases) >= 2 for t in tasks)
  assert all(i.exploration for i in items)


def _task_kinds(family):
  if family == "web_browsing":
    from selfchallenge_jax.envs.web_browsing.benchmark import TASK_KINDS
    return {f"web_browsing/{k}" for k in TASK_KINDS}
  from selfchallenge_jax.envs.calculation.benchmarks import GENERATORS
  return {f"calculation/{name}/{k}" for name, g in GENERATORS.items() for k in g.TASK_KINDS}


@pytest.mark.parametrize("family, n", [("web_browsing", 6), ("calculation", 32)])
def test_scripted_challenger_covers_every_task_kind_and_each_is_kept(pool, family, n):
  # The warm-up's challenger demos are these records: were they all one kind (as when every seed
  # gave its first task), the policy would learn to write only that kind.
  kinds = [benchmark_instance(family, s).task_id.rsplit("/", 1)[0] for s in range(n)]
  assert set(kinds) == _task_kinds(family)
  items = scripted_challenger_texts(family, n, 0)
  tasks = [parse_challenger_output(i.text, env=family, env_kwargs=i.env_kwargs) for i in items]
  results = check_tasks(tasks, pool)
  assert [r.reason for r in results] == [Reason.KEPT] * n, [(k, r.detail) for k, r in
                                                           zip(kinds, results) if not r.keep]


def test_scripted_backend_plays_the_good_tasks_through_run_challenge(pool):
  stats = run_challenge(ScriptedBackend(good_task_script), ["calculation", "web_browsing"], 2,
                        pool=pool, seed=20)
  assert [r.reason for r in stats.records] == ["kept"] * 4
  # The exploration was real: its tool calls ran in the challenger's environment.
  assert all(r.provenance["num_tool_calls"] > 0 for r in stats.records)
  assert all(r.provenance["ended_by"] == "task" for r in stats.records)


def test_scripted_challenger_texts_restricted_to_kinds():
  from selfchallenge_jax.challenge.challenger_env import make_challenger_env
  from selfchallenge_jax.pipeline.demos import challenger_demos
  price = scripted_challenger_texts("web_browsing", 3, 100, kinds=["web_browsing/price"])
  assert [i.env_seed for i in price] == [102, 108, 114]        # kind = seed % 6; price is kind 0
  assert all(benchmark_instance("web_browsing", i.env_seed).task_id.split("/")[1] == "price"
             for i in price)
  dna = scripted_challenger_texts("calculation", 4, 0, kinds=["calculation/dna_sequencer",
                                                              "web_browsing/price"])
  assert all(i.env_kwargs["family"] == "dna_sequencer" for i in dna)
  everything = scripted_challenger_texts("calculation", 4, 0, kinds=["web_browsing/price"])
  assert [i.env_seed for i in everything] == [0, 1, 2, 3]     # other families' kinds: no filter
  with pytest.raises(ValueError, match="matched 0"):
    scripted_challenger_texts("web_browsing", 1, 0, kinds=["web_browsing/no_such_kind"])
  # The demo explores the environment of the record's own seed.
  chat = challenger_demos(["web_browsing"], 1, 100, kinds=["web_browsing/price"])[0]
  env, _ = make_challenger_env("web_browsing", 102)
  first_observation = next(m for m in chat.messages if m["role"] == "ipython")["content"]
  assert first_observation == env.call_tool("view", {})
