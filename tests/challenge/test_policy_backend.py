"""End to end on CPU: a tiny random-init policy plays challenger episodes on all four families
through the RolloutEngine; every output is accounted for as kept or rejected with a reason."""

import jax
import pytest

from selfchallenge_jax.challenge import (FAMILIES, PolicyBackend, challenger_messages,
                                         make_challenger_env, run_challenge)
from selfchallenge_jax.model import get_config, init_params
from selfchallenge_jax.rollout import episode as ep
from selfchallenge_jax.rollout.engine import RolloutEngine
from selfchallenge_jax.sampling import Sampler
from selfchallenge_jax.tasks.check import Reason
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format
from selfchallenge_jax.tokenizer.chat_base import tools_json
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece

# The tool schemas dominate the prompt (retail / airline: ~4k tokens even without the policy, which
# is left out here to fit a small cache; the policy path is covered by the scripted and endpoint
# tests). One engine serves all families so the programs compile once.
CACHE_LEN = 4608


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
  # Trained on the prompts themselves so they tokenize compactly (a 320-piece test vocabulary
  # would make them 4-20k tokens).
  texts = []
  for family in FAMILIES:
    env, _ = make_challenger_env(family, 0)
    texts += [m["content"] for m in challenger_messages(env)] + [tools_json(env.tools)]
  lines = [line for text in texts for line in text.split("\n") if line.strip()] * 3
  path = train_chat_sentencepiece(lines, tmp_path_factory.mktemp("tok") / "tokenizer.model", 2000)
  return make_chat_format("llama3", load_tokenizer(path))


class RecordingBackend(PolicyBackend):
  """Keeps the outputs so the test can compare them with the records run_challenge wrote."""

  def generate(self, requests, seed):
    outputs = super().generate(requests, seed)
    self.outputs.extend(outputs)
    return outputs


def test_random_policy_challenge_episodes_are_all_accounted_for(chat, pool):
  config = get_config("tiny", vocab_size=chat.tokenizer.vocab_size, max_seq_len=CACHE_LEN)
  params = init_params(config, jax.random.key(0), std=0.05)
  engine = RolloutEngine(Sampler(params, config, cache_len=CACHE_LEN), chat, num_slots=1,
                         max_turns=2, max_turn_tokens=16, max_episode_tokens=32, chunk_steps=16)
  backend = RecordingBackend(engine, include_policy=False)
  backend.outputs = []
  try:
    stats = run_challenge(backend, FAMILIES, 1, pool=pool, seed=7, batch_size=4)
  finally:
    engine.close()
  assert stats.total == len(FAMILIES) == len(backend.outputs)
  assert [r.provenance["family"] for r in stats.records] == list(FAMILIES)
  reasons = {r.value for r in Reason}
  for record, output in zip(stats.records, backend.outputs):
    assert record.reason in reasons and record.keep == (record.reason == "kept")
    assert record.provenance["end_reason"] == output.end_reason == output.episode.end_reason
    assert output.end_reason in (ep.ENV_DONE, ep.MAX_TURNS, ep.MAX_TOKENS, ep.CONTEXT_FULL)
    # The episode opened with this family's challenger prompt, tools included.
    env, _ = make_challenger_env(output.request.family, output.request.env_seed)
    prompt = chat.render(challenger_messages(env, include_policy=False), tools=env.tools).ids
    assert output.episode.tokens[:len(prompt)] == prompt
    assert output.num_tool_calls == sum(a["kind"] == "tool" for a in output.episode.actions)
    if output.ended_by is not None:
      # The final message ended the episode and is the text that was parsed.
      assert output.end_reason == ep.ENV_DONE and output.text == output.episode.answer
    else:
      # No final message: an unparseable record that says how the episode ended.
      assert output.text is None and record.reason == "unparseable" and record.raw == ""
      assert f"episode ended: {output.end_reason}" in record.detail
    if output.request.family in ("calculation", "web_browsing") and output.ended_by is None:
      assert output.end_reason != ep.ENV_DONE   # any non-tool message would have ended it
  assert sum(stats.reasons().values()) == len(FAMILIES)
