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


def _turns(role_mask):
  """Lengths of the runs of policy-written tokens (the assistant turns), in order."""
  edges = np.diff(np.concatenate([[0], np.asarray(role_mask, np.int8), [0]]))
  starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
  return ends - starts


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


def test_challenge_budgets_hold_the_scripted_challenger_records(rendered):
  c, out = rendered
  challenger = [_turns(r.role_mask) for role, r in out if role == "challenger"]
  assert challenger
  assert max(t[-1] for t in challenger) <= c.challenge.max_turn_tokens
  assert max(t.sum() for t in challenger) <= c.challenge.max_episode_tokens
  assert max(len(t) for t in challenger) <= c.sampling.max_turns


def test_executor_turn_budget_holds_every_demo_turn(rendered):
  c, out = rendered
  executor = [_turns(r.role_mask) for role, r in out if role == "executor"]
  assert max(t.max() for t in executor) <= c.sampling.max_turn_tokens


def test_most_demos_fit_the_sft_length(rendered):
  c, out = rendered
  lengths = np.array([len(r.ids) for _, r in out])
  assert (lengths <= c.bootstrap.max_len).mean() >= 0.85
