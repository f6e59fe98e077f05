"""Near-duplicates collapse (case, spacing, punctuation, comments, docstrings); real changes do not."""

from selfchallenge_jax.challenge.dedup import Deduplicator, dedup_key
from selfchallenge_jax.tasks.record import CodeAsTask

VERIFIER = "def verify(state, answer, messages):\n  return answer == 'Answer: 4'\n"


def task(instruction="What is 2 + 2?", verifier=VERIFIER, env="calculation", task_id="t"):
  return CodeAsTask(task_id=task_id, env=env, env_kwargs={"seed": 1}, instruction=instruction,
                    verifier=verifier, solution=({"name": "respond", "arguments": {"content": "x"}},),
                    failure_cases=())


def test_near_duplicates_share_a_key():
  base = dedup_key(task())
  reformatted = ('def verify(state, answer, messages):\n    """Checks the sum."""\n'
                 "    # the expected answer\n    return (answer ==   'Answer: 4')\n")
  assert dedup_key(task(instruction="  what IS 2+2 ", verifier=reformatted)) == base
  assert dedup_key(task(instruction="What is 2 + 2?!")) == base


def test_real_differences_change_the_key():
  base = dedup_key(task())
  assert dedup_key(task(instruction="What is 2 + 3?")) != base        # digits matter
  assert dedup_key(task(verifier=VERIFIER.replace("4", "5"))) != base
  assert dedup_key(task(env="web_browsing")) != base
  # Unparseable verifiers still normalize (comments and whitespace), and still differ on content.
  broken = "def verify(state, answer, messages):\n  return (  # open\n"
  assert dedup_key(task(verifier=broken)) == dedup_key(task(verifier=broken.replace("  ", " ")))
  assert dedup_key(task(verifier=broken)) != dedup_key(task(verifier=broken + "x"))


def test_deduplicator_counts_and_remembers_the_first():
  dedup = Deduplicator(known=[task(task_id="old")])
  assert dedup.first_seen(task(task_id="a")) == "old"
  assert dedup.first_seen(task(instruction="Other?", task_id="b")) is None
  assert dedup.first_seen(task(instruction="other", task_id="c")) == "b"
  assert dedup.duplicates == 2 and len(dedup) == 2
