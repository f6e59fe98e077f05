"""Episode sources: a list in order; a queue that takes submissions, cancellations and close."""

import threading
import time

from selfchallenge_jax.rollout.episode import EpisodeSpec
from selfchallenge_jax.rollout.episode_source import ListSource, QueueSource


def _spec(i):
  return EpisodeSpec(env=None, messages=[{"role": "user", "content": str(i)}], stream_id=i)


def test_list_source_hands_out_in_order_then_is_exhausted():
  source = ListSource([_spec(0), _spec(1)])
  assert [source.take()[0], source.take()[0]] == [0, 1]
  assert source.take() is None and source.exhausted() and source.cancelled() == set()


def test_queue_source_skips_episodes_cancelled_before_they_start():
  source = QueueSource()
  a, b, c = (source.submit(_spec(i)) for i in range(3))
  source.cancel(b)
  assert source.take()[0] == a and source.take()[0] == c and source.take() is None
  assert b not in source.cancelled()          # forgotten once skipped
  source.cancel(a)                            # a running one: the engine drops it, then forgets
  assert source.cancelled() == {a}
  source.forget(a)
  assert source.cancelled() == set() and not source.exhausted()
  source.forget(c)                            # c ended normally: a late cancel is a no-op
  source.cancel(c)
  assert source.cancelled() == set()


def test_queue_source_wait_wakes_on_submit_and_close():
  source = QueueSource()
  threading.Timer(0.1, lambda: source.submit(_spec(0))).start()
  t0 = time.perf_counter()
  source.wait(timeout_s=5)
  assert time.perf_counter() - t0 < 2 and source.take()[0] == 0
  threading.Timer(0.1, source.close).start()
  source.wait(timeout_s=5)
  assert source.exhausted()
  try:
    source.submit(_spec(1))
  except RuntimeError as e:
    assert "closed" in str(e)
  else:
    raise AssertionError("submit after close must fail")
