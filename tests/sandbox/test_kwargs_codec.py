"""kwargs_codec: split encoding of large dicts and the worker's cache of decoded parts."""

from __future__ import annotations

import marshal

import pytest

from selfchallenge_jax.sandbox import kwargs_codec
from selfchallenge_jax.sandbox.kwargs_codec import PartCache, encode


def big_state(tag: str = "") -> dict:
  return {"users": {f"u{i}": {"name": f"n{i}{tag}", "tags": [i, i + 1]} for i in range(800)},
          "orders": {f"o{i}": {"user": f"u{i}", "total": i * 1.5} for i in range(800)},
          "meta": {"version": 3}}


def test_round_trip_equals_marshal():
  kwargs = {"state": big_state(), "answer": "x", "messages": [{"a": 1}], "small": {"a": 1, "b": 2}}
  assert PartCache().decode(encode(kwargs)) == marshal.loads(marshal.dumps(kwargs))


def test_large_dicts_are_split_small_ones_are_not():
  plain, split = marshal.loads(encode({"state": big_state(), "small": {"a": 1, "b": 2}}))
  assert set(plain) == {"small"}
  assert [name for name, _ in split] == ["state"]
  assert [key for key, _ in split[0][1]] == ["users", "orders", "meta"]


def test_first_sight_is_not_kept():
  cache = PartCache()
  first = cache.decode(encode({"state": big_state()}))
  assert len(cache) == 0
  second = cache.decode(encode({"state": big_state()}))
  assert len(cache) == 2 and second["state"]["users"] is not first["state"]["users"]
  assert cache.decode(encode({"state": big_state()}))["state"]["users"] is second["state"]["users"]


def test_unchanged_parts_are_reused_changed_ones_decoded():
  cache = PartCache()
  cache.decode(encode({"state": big_state()}))
  first = cache.decode(encode({"state": big_state()}))
  changed = big_state()
  changed["orders"]["o1"]["total"] = -1.0
  second = cache.decode(encode({"state": changed}))
  assert second["state"]["users"] is first["state"]["users"]
  assert second["state"]["orders"] is not first["state"]["orders"]
  assert second["state"]["orders"]["o1"]["total"] == -1.0
  assert second["state"] is not first["state"]   # the top-level dict is always new


def test_equal_parts_in_one_call_are_not_aliased():
  users = big_state()["users"]
  kwargs = {"state": {"a": users, "b": dict(users)}, "other": {"c": dict(users), "d": 1}}
  decoded = PartCache().decode(encode(kwargs))
  objects = [decoded["state"]["a"], decoded["state"]["b"], decoded["other"]["c"]]
  assert len({id(o) for o in objects}) == 3
  assert all(o == users for o in objects)


def test_eviction_by_age_and_size(monkeypatch):
  cache = PartCache()
  for _ in range(2):
    cache.decode(encode({"state": big_state("a")}))
  assert len(cache) == 2   # users and orders; meta is too small to cache
  for i in range(kwargs_codec._KEEP_TASKS):
    cache.decode(encode({"x": i}))
    cache.evict()
  assert len(cache) == 0
  monkeypatch.setattr(kwargs_codec, "_MAX_CACHED_BYTES", 1)
  for _ in range(2):
    cache.decode(encode({"state": big_state("b")}))
  cache.evict()
  assert len(cache) == 0


@pytest.mark.parametrize("blob", [b"", b"garbage", marshal.dumps([1, 2]), marshal.dumps(({}, {}))])
def test_malformed_blobs_raise(blob):
  with pytest.raises((ValueError, EOFError, TypeError)):
    PartCache().decode(blob)
