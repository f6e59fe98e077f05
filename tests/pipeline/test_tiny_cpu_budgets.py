"""The miniature's sampling budgets hold what its own bootstrap demonstrations teach the model to write.

A budget below a demo's turn cuts every imitation of it short: the challenger's record then never
closes its <task> tag and the whole round is rejected as unparseable.
"""

import numpy as np
import pytest

from configs import tiny_cpu
from selfchallenge_jax.pipeline import demos as demo_lib
from selfchallenge_jax.tokenizer import load_tokenizer, make_chat_format
from selfchallenge_jax.tokenizer.train_sentencepiece import train_chat_sentencepiece


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
  c = tiny_cpu.get_config()
  families = c.families.split(",")
  b = c.bootstrap
  chats = (demo_lib.executor_demos(families, b.executor_demos_per_family, b.demo_seed,
                                   num_seeds=b.demo_task_seeds)
           + demo_lib.challenger_demos(families, b.challenger_demos_per_family, b.demo_seed))
  path = tmp_path_factory.mktemp("tok") / "tokenizer.model"
  train_chat_sentencepiece(demo_lib.corpus_text(chats, c.chat.tool_schemas), path,
                           c.tokenizer.vocab_size)
  chat = make_chat_format(c.chat.format, load_tokenizer(path), tool_schemas=c.chat.tool_schemas)
  out = [(d.role, chat.render(d.messages, tools=d.tools, add_generation_prompt=False))
         for d in chats]
  return c, out


def test_challenge_budgets_hold_enough_scripted_challenger_records(rendered):
  # The bootstrap skips challenger demos past these budgets (demo_lib.fits_episode_budget): the
  # long-solution kinds, and at the miniature's 6 turns also the 7-call web kinds (person
  # details, phone owners, head counts). A quarter of each family's demos must still fit.
  c, out = rendered
  budget = dict(max_turns=c.sampling.max_turns, max_turn_tokens=c.challenge.max_turn_tokens,
                max_episode_tokens=c.challenge.max_episode_tokens)
  per_family = c.bootstrap.challenger_demos_per_family
  fits = [demo_lib.fits_episode_budget(r.role_mask, **budget) for role, r in out
          if role == "challenger"]
  assert len(fits) == per_family * len(c.families.split(","))
  for start in range(0, len(fits), per_family):
    assert sum(fits[start:start + per_family]) >= per_family // 4, fits


def test_fits_episode_budget_counts_turns_their_lengths_and_their_sum():
  mask = [0, 1, 1, 0, 0, 1, 1, 1, 0, 1]          # policy turns of 2, 3 and 1 tokens
  assert list(demo_lib.policy_turns(mask)) == [2, 3, 1]
  ok = dict(max_turns=3, max_turn_tokens=3, max_episode_tokens=6)
  assert demo_lib.fits_episode_budget(mask, **ok)
  assert not demo_lib.fits_episode_budget(mask, **{**ok, "max_turns": 2})
  assert not demo_lib.fits_episode_budget(mask, **{**ok, "max_turn_tokens": 2})
  assert not demo_lib.fits_episode_budget(mask, **{**ok, "max_episode_tokens": 5})


def test_executor_turn_budget_holds_every_demo_turn(rendered):
  c, out = rendered
  executor = [demo_lib.policy_turns(r.role_mask) for role, r in out if role == "executor"]
  assert max(t.max() for t in executor) <= c.sampling.max_turn_tokens


def test_most_demos_fit_the_sft_length(rendered):
  c, out = rendered
  lengths = np.array([len(r.ids) for _, r in out])
  assert (lengths <= c.bootstrap.max_len).mean() >= 0.85
