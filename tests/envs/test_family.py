"""The family records (envs/family.py): one per folder, and every consumer reads them."""

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.challenge import prompts
from selfchallenge_jax.challenge.challenger_env import make_challenger_env
from selfchallenge_jax.envs import family as family_lib
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.tasks import tfds_benchmark


def test_records_are_complete_and_consistent():
  assert family_lib.names() == ("calculation", "web_browsing", "retail", "airline")
  assert family_lib.conversational() == ("retail", "airline")
  for name in family_lib.names():
    record = family_lib.get(name)
    assert record.name == name and record.paper_test_size > 0
    env = envs.make(name, **record.challenger_env_kwargs(3))
    assert type(env).__module__ + ":" + type(env).__name__ == record.env_class
    (task,) = record.generate(1, 1000)
    assert task.env == name
    assert (record.persona is not None) == record.conversational
    assert record.challenger_role in prompts.system_prompt(name)
    assert record.challenger_rules in prompts.user_prompt(name)
  assert tfds_benchmark.FAMILIES == {"calculation": 48, "web_browsing": 34, "retail": 115,
                                     "airline": 50}
  assert set(builtin_task_sets(1, 5)) == set(family_lib.names())


def test_challenger_env_follows_the_record():
  env, kwargs = make_challenger_env("retail", seed=3)
  assert env.conversational and kwargs == {"seed": 0}
  persona = family_lib.get("retail").persona(env.inner.data, 3)
  assert persona.startswith("Your name is ") and "@" in persona
  assert family_lib.get("airline").persona(envs.make("airline", seed=0).data, 3).startswith(
      "Your user id is ")
  env, kwargs = make_challenger_env("calculation", seed=5)
  assert not env.conversational and kwargs["seed"] == 5


def test_unknown_and_clashing_names():
  with pytest.raises(ValueError, match="unknown environment family 'chess'"):
    family_lib.get("chess")
  with pytest.raises(ValueError, match="is a family"):
    envs.register("retail", "somewhere:Else")
  assert "echo" in envs.names() and "retail" in envs.names()
