"""kwargs_codec: split encoding, the pool's record of a worker's parts, and the worker's store."""

from __future__ import annotations

import marshal

import pytest

from selfchallenge_jax.sandbox import kwargs_codec
from selfchallenge_jax.sandbox.kwargs_codec import Encoder, PartStore, WorkerParts


def big_state(tag: str = "") -> dict:
  return {"users": {f"u{i}": {"name": f"n{i}{tag}", "tags": [i, i + 1]} for i in range(800)},
          "orders": {f"o{i}": {"user": f"u{i}", "total": i * 1.5} for i in range(800)},
          "meta": {"version": 3}}


class Link:
  """A pool-side WorkerParts and a worker-side PartStore, batch by batch, as over the pipe."""

  def __init__(self) -> None:
    self.parts, self.store = WorkerParts(), PartStore()
    self.sent_parts = 0

  def batch(self, *kwargs_list: dict) -> list[dict]:
    encoder = Encoder()
    drop, stores, frames = self.parts.plan([encoder.encode(kwargs) for kwargs in kwargs_list])
    self.sent_parts += len(stores)
    self.store.end_batch()   # the previous batch's one-off parts
    self.store.update(drop, [(slot, keep) for slot, keep, _ in stores],
                      [blob for _, _, blob in stores])
    return [self.store.build(frame) for frame in frames]


def test_round_trip_equals_marshal():
  kwargs = {"state": big_state(), "answer": "x", "messages": [{"a": 1}], "small": {"a": 1, "b": 2}}
  expected = marshal.loads(marshal.dumps(kwargs))
  assert Link().batch(kwargs) == [expected]
  assert kwargs_codec.decode(kwargs_codec.inline(Encoder().encode(kwargs))) == expected


def test_large_dicts_are_split_small_ones_are_not():
  encoded = Encoder().encode({"state": big_state(), "small": {"a": 1, "b": 2}})
  assert set(marshal.loads(encoded.plain)) == {"small"}
  assert [name for name, _ in encoded.split] == ["state"]
  assert [key for key, _ in encoded.split[0][1]] == ["users", "orders", "meta"]


def test_an_encoder_encodes_each_object_once():
  state = big_state()
  encoder = Encoder()
  first, second = encoder.encode({"state": state}), encoder.encode({"state": state, "x": 1})
  assert first.split[0][1][0][1] is second.split[0][1][0][1]


def test_parts_travel_once_and_are_kept_from_their_second_arrival():
  link = Link()
  first = link.batch({"state": big_state()}, {"state": big_state()})
  assert link.sent_parts == 2 and len(link.parts) == 0   # users, orders; meta travels inline
  assert first[0]["state"]["users"] is first[1]["state"]["users"]   # one decode per batch
  second = link.batch({"state": big_state()})
  assert link.sent_parts == 4 and len(link.parts) == 2
  third = link.batch({"state": big_state()})
  assert link.sent_parts == 4                             # held by the worker: not sent again
  assert third[0]["state"]["users"] is second[0]["state"]["users"]
  assert third[0]["state"] is not second[0]["state"]      # the top-level dict is always new


def test_unchanged_parts_are_reused_changed_ones_sent():
  link = Link()
  link.batch({"state": big_state()})
  before = link.batch({"state": big_state()})[0]
  changed = big_state()
  changed["orders"]["o1"]["total"] = -1.0
  after = link.batch({"state": changed})[0]
  assert after["state"]["users"] is before["state"]["users"]
  assert after["state"]["orders"] is not before["state"]["orders"]
  assert after["state"]["orders"]["o1"]["total"] == -1.0


def test_equal_parts_in_one_call_are_not_aliased():
  users = big_state()["users"]
  kwargs = {"state": {"a": users, "b": dict(users)}, "other": {"c": dict(users), "d": 1}}
  link = Link()
  for _ in range(3):   # also once the part is kept
    decoded = link.batch(kwargs)[0]
    objects = [decoded["state"]["a"], decoded["state"]["b"], decoded["other"]["c"]]
    assert len({id(o) for o in objects}) == 3
    assert all(o == users for o in objects)


def test_one_off_parts_are_freed_after_their_batch():
  link = Link()
  link.batch({"state": big_state("a")})
  link.store.end_batch()
  assert len(link.store) == 0


def test_kept_parts_are_dropped_by_age_and_size(monkeypatch):
  link = Link()
  for _ in range(2):
    link.batch({"state": big_state("a")})
  assert len(link.parts) == 2 and len(link.store) == 2
  for i in range(kwargs_codec.KEEP_BATCHES):
    link.batch({"x": i})
  assert len(link.parts) == 0 and len(link.store) == 0
  monkeypatch.setattr(kwargs_codec, "MAX_KEPT_BYTES", 1)
  for _ in range(2):
    link.batch({"state": big_state("b")})
  assert len(link.parts) == 2   # over the cap, but in use by this batch
  link.batch({"x": 0})
  assert len(link.parts) == 0 and len(link.store) == 0


def test_reset_forgets_what_the_worker_held():
  link = Link()
  for _ in range(2):
    link.batch({"state": big_state()})
  link.parts.reset()
  link.store = PartStore()   # a new worker
  assert link.batch({"state": big_state()})[0]["state"] == big_state()


@pytest.mark.parametrize("frame", [b"", b"garbage", marshal.dumps([1, 2]),
                                   marshal.dumps((marshal.dumps([]), []))])
def test_malformed_frames_raise(frame):
  with pytest.raises((ValueError, EOFError, TypeError)):
    kwargs_codec.decode(frame)
