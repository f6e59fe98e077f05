"""The scripted answer tasks' failure cases are wrong at every magnitude: the verifier built for
the expected value accepts the expected value and rejects both wrong answers."""

import pytest

from selfchallenge_jax.challenge.scripted_answer_tasks import answer_verifier, wrong_answers


def _verdict(verifier_source, value):
  scope = {}
  exec(verifier_source, scope)   # trusted: our own template
  return scope["verify"]({}, f"Answer: {value}", [])


@pytest.mark.parametrize("expected", ["0", "-3", "-10", "7", "12.34", "1600218.4", "-2.5e7",
                                      "123456789", "0.000001", "[1, 2]", "True", "Mike Martinez",
                                      "unknown", "aba"])
def test_verifier_accepts_expected_and_rejects_both_wrong_answers(expected):
  verifier = answer_verifier(expected)
  assert _verdict(verifier, expected)
  wrong = wrong_answers(expected)
  assert len(wrong) == 2 and len(set(wrong)) == 2
  assert not any(_verdict(verifier, w) for w in wrong), wrong
