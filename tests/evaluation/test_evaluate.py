"""evaluate(): pass@1 / pass@k arithmetic over a stub engine, an end-to-end run with a tiny random
model and the real rollout engine, and the written JSON / markdown results."""

import io
import json

import jax
import pytest
import sentencepiece as spm

from selfchallenge_jax import envs
from selfchallenge_jax.evaluation.evaluate import evaluate, reason_bucket, write_results
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format
from selfchallenge_jax.tokenizer.train_sentencepiece import CHAT_SYMBOLS


@pytest.fixture(scope="module")
def task_sets():
  return builtin_task_sets(2, seed=77)


class StubEngine:
  """Stands in for RolloutEngine: solves an episode (with the expert's actions) iff its
  (env label, task index, sample number) is listed; records what evaluate asked for."""

  num_slots = 2

  def __init__(self, task_sets, solved, error=None):
    self.task_sets, self.solved, self.error = task_sets, solved, error
    self.calls, self.samples = [], {}

  def run(self, specs, seed=0, on_episode_end=None):
    self.calls.append((seed, [s.stream_id for s in specs]))
    episodes = []
    for spec in specs:
      name, index = spec.tag
      sample = self.samples[(name, index)] = self.samples.get((name, index), -1) + 1
      reason = ep.MAX_TURNS
      if (name, index, sample) in self.solved:
        for step in self.task_sets[name][index].solution:
          if step["name"] == "respond":
            spec.env.respond(step["arguments"]["content"])
          else:
            spec.env.call_tool(step["name"], step["arguments"])
        reason = ep.ENV_DONE
      if (name, index, sample) == self.error:
        reason = "env_error: KeyError: 'x'"
      episodes.append(ep.Episode(tag=spec.tag, tokens=[1, 2, 3], loss_mask=[0, 1, 1],
                                 logprobs=[0.0] * 3, turns=[(1, 3)], end_reason=reason,
                                 answer=spec.env.answer, final_state=spec.env.state(),
                                 actions=list(spec.env.actions)))
      if on_episode_end is not None:
        on_episode_end(len(episodes) - 1, episodes[-1])
    return episodes


def test_pass_at_k_arithmetic_and_counts(task_sets):
  sets = {"calc": task_sets["calculation"], "retail": task_sets["retail"]}
  solved = {("calc", 0, 0), ("calc", 0, 1), ("calc", 0, 2), ("calc", 1, 2),
            ("retail", 1, 0), ("retail", 1, 1)}
  engine = StubEngine(sets, solved, error=("retail", 0, 1))
  ended = []
  result = evaluate(engine, sets, k=2, seed=9, num_samples=3, episodes_per_run=5,
                    on_episode_end=lambda: ended.append(1))
  assert len(ended) == 12                     # the progress callback sees every episode

  # 4 tasks x 3 samples in runs of 5; one seed; every sample its own stream.
  assert [len(ids) for _, ids in engine.calls] == [5, 5, 2]
  assert {seed for seed, _ in engine.calls} == {9}
  streams = [i for _, ids in engine.calls for i in ids]
  assert sorted(streams) == list(range(12))

  calc, retail = result.envs["calc"], result.envs["retail"]
  assert [t.num_correct for t in calc.tasks] == [3, 1]
  assert [t.num_correct for t in retail.tasks] == [0, 2]
  assert calc.pass_at_1 == pytest.approx((1 + 1 / 3) / 2)
  assert calc.pass_at_k == pytest.approx((1 + 2 / 3) / 2)      # 1 - C(2,2)/C(3,2) for task 1
  assert retail.pass_at_1 == pytest.approx(1 / 3)
  assert retail.pass_at_k == pytest.approx(1 / 2)
  assert result.pass_at_1 == pytest.approx(0.5)
  assert result.pass_at_k == pytest.approx((5 / 6 + 1 / 2) / 2)
  assert (calc.num_tasks, calc.num_episodes, calc.num_correct_episodes, calc.num_solved_tasks) == (
      2, 6, 4, 2)
  assert retail.num_solved_tasks == 1
  assert calc.end_reasons == {"env_done": 4, "max_turns": 2}
  assert retail.end_reasons == {"env_done": 2, "env_error": 1, "max_turns": 3}
  assert calc.mean_sampled_tokens == 2.0 and calc.mean_turns == 1.0


def test_argument_checks(task_sets):
  engine = StubEngine(task_sets, set())
  with pytest.raises(ValueError, match="k <= num_samples"):
    evaluate(engine, {"calc": task_sets["calculation"]}, k=3, seed=0, num_samples=2)
  with pytest.raises(ValueError, match="needs tasks"):
    evaluate(engine, {"calc": []}, k=1, seed=0)
  assert reason_bucket("env_error: ValueError: a: b") == "env_error"


def env_corpus():
  """Text like the prompts (policies, tool schemas): a CPU tokenizer is trained on such text."""
  texts = []
  for name in ("calculation", "web_browsing", "retail", "airline"):
    env = envs.make(name)
    texts += env.system_prompt.splitlines()
    texts += [json.dumps(tool, indent=4) for tool in env.tools]
    texts += [json.dumps({"name": t["function"]["name"], "parameters": {"x": "y"}})
              for t in env.tools]
  return texts + ["Answer: 42", "Hi! I want to cancel order #W1. Yes, please go ahead."] * 20


def compact_tokenizer(path):
  """A SentencePiece with the chat symbols whose pieces may span spaces and indentation, so the
  calculation / web prompts (~0.6-0.75k tokens) fit a 1024 cache and prefill fast on CPU."""
  model = io.BytesIO()
  spm.SentencePieceTrainer.train(
      sentence_iterator=iter(env_corpus()), model_writer=model, vocab_size=4000, model_type="bpe",
      byte_fallback=True, split_digits=True, normalization_rule_name="identity",
      remove_extra_whitespaces=False, add_dummy_prefix=True, character_coverage=1.0,
      user_defined_symbols=list(CHAT_SYMBOLS), minloglevel=2, num_threads=1,
      hard_vocab_limit=False, allow_whitespace_only_pieces=True, split_by_whitespace=False,
      max_sentencepiece_length=32)
  path.write_bytes(model.getvalue())
  return load_tokenizer(path)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
  tokenizer = compact_tokenizer(tmp_path_factory.mktemp("tok") / "tokenizer.model")
  chat = make_chat_format("llama3", tokenizer)
  # The tau prompts (~2.7k tokens here, ~4.2k with Llama 3's tokenizer) do not fit the 1024 cache
  # and end as context_full, which is what a small-context model sees on those families.
  config = get_config("tiny", vocab_size=tokenizer.vocab_size, max_seq_len=1024)
  sampler = Sampler(init_params(config, jax.random.key(0), std=0.05), config, cache_len=1024)
  engine = RolloutEngine(sampler, chat, num_slots=4, max_turns=2, max_turn_tokens=8,
                         max_episode_tokens=16, chunk_steps=8)
  yield engine
  engine.close()


@pytest.mark.slow
def test_end_to_end_with_a_tiny_random_model(engine, task_sets, tmp_path):
  result = evaluate(engine, task_sets, k=2, seed=3)
  assert list(result.envs) == ["calculation", "web_browsing", "retail", "airline"]
  for r in result.envs.values():
    assert (r.num_tasks, r.num_episodes) == (2, 4)
    assert 0.0 <= r.pass_at_1 <= r.pass_at_k <= 1.0
    assert sum(r.end_reasons.values()) == 4
    assert all(len(t.rewards) == 2 and set(t.rewards) <= {0.0, 1.0} for t in r.tasks)
  for name in ("calculation", "web_browsing"):
    assert result.envs[name].mean_sampled_tokens > 0
    assert "context_full" not in result.envs[name].end_reasons
  for name in ("retail", "airline"):
    assert result.envs[name].end_reasons == {"context_full": 4}
  assert 0.0 <= result.pass_at_1 <= result.pass_at_k <= 1.0

  json_path, md_path = write_results(result, tmp_path / "workdir")
  data = json.loads(json_path.read_text())
  assert data["k"] == 2 and data["seed"] == 3 and data["num_samples"] == 2
  assert data["envs"]["retail"]["tasks"][0]["task_id"] == task_sets["retail"][0].task_id
  assert data["pass_at_1"] == pytest.approx(result.pass_at_1)
  table = md_path.read_text().splitlines()
  rows = [line for line in table if line.startswith("| ")]
  assert rows[0].startswith("| environment | tasks | episodes | correct | pass@1 | pass@2 |")
  assert [row.split(" | ")[0][2:] for row in rows[1:]] == [
      "calculation", "web_browsing", "retail", "airline", "**average**"]
  assert "context_full 4" in rows[3]


def test_expert_played_through_the_stub_scores_one_everywhere(task_sets):
  # Every family's expert, fed through evaluate: pass@1 is exactly 1 (scoring agrees with replay).
  solved = {(name, i, 0) for name, tasks in task_sets.items() for i in range(len(tasks))}
  result = evaluate(StubEngine(task_sets, solved), task_sets, k=1, seed=0)
  assert {name: r.pass_at_1 for name, r in result.envs.items()} == {
      name: 1.0 for name in task_sets}
  assert result.pass_at_1 == 1.0
