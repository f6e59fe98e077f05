"""How kwargs travel from the pool to a worker: marshal, with large dicts split by top-level key.

    pool:   blob = encode(kwargs)                    (trusted side; plain data only)
    worker: kwargs = PartCache().decode(blob)        (just before the fork; the child inherits them)

A state dict (e.g. a retail database: users, orders, products) is encoded one top-level value per
part. The worker keeps the objects it decoded for recent parts, keyed by the part's exact bytes, so
a part that arrives again unchanged (the users of every replay of one task, the database of every
answer checked against it) is kept from its second arrival on, and then neither decoded nor freed
again: decoding ~100 KB of state and freeing
it after the fork cost about a third of a verification. A child gets a copy-on-write view of those
objects, so nothing it does reaches the cache or another task, exactly as with a fresh decode.
Results are the same values as `marshal.loads(marshal.dumps(kwargs))`, except that an object shared
between two top-level values arrives as two equal copies.

Never used on anything a child sends: replies are size-capped JSON. Stdlib only (workers run
`python -I -S`).
"""

from __future__ import annotations

import marshal
from typing import Any

SPLIT_MIN_BYTES = 16 << 10   # dicts smaller than this travel whole
_CACHE_MIN_BYTES = 4 << 10   # parts smaller than this are cheaper to decode than to look up
_KEEP_TASKS = 4              # parts unused for this many tasks are dropped
_MAX_CACHED_BYTES = 4 << 20   # of encoded parts; their objects take ~10x as much memory


def encode(kwargs: dict[str, Any]) -> bytes:
  """marshal of (plain kwargs, [(name, [(key, part blob), ...]), ...]); raises like marshal.dumps."""
  plain: dict[str, Any] = {}
  split: list[tuple[str, list[tuple[Any, bytes]]]] = []
  for name, value in kwargs.items():
    if type(value) is dict and len(value) > 1:
      parts = [(key, marshal.dumps(item)) for key, item in value.items()]
      if sum(len(part) for _, part in parts) >= SPLIT_MIN_BYTES:
        split.append((name, parts))
        continue
    plain[name] = value
  return marshal.dumps((plain, split))


class PartCache:
  """The worker's decoder: recently seen parts stay decoded (see the module docstring)."""

  def __init__(self) -> None:
    self._parts: dict[bytes, list[Any]] = {}   # part blob -> [objects, last task seen]
    self._seen: dict[int, int] = {}            # hash of a part blob -> last task it came in
    self._bytes = 0
    self._task = 0

  def decode(self, blob: bytes) -> dict[str, Any]:
    """Raises ValueError/EOFError/TypeError on a malformed blob, MemoryError when out of memory."""
    self._task += 1
    plain, split = marshal.loads(blob)
    if type(plain) is not dict or type(split) is not list:
      raise TypeError("kwargs must be a dict")
    used: set[bytes] = set()   # a part twice in one call gets a fresh copy: no new aliasing
    for name, parts in split:
      plain[name] = {key: self._decode_part(part, used) for key, part in parts}
    return plain

  def _decode_part(self, part: bytes, used: set[bytes]) -> Any:
    if len(part) < _CACHE_MIN_BYTES or part in used:
      return marshal.loads(part)
    used.add(part)
    entry = self._parts.get(part)
    if entry is None:
      # Kept only from its second arrival on: a stream of always-new states then costs nothing
      # extra (kept objects make every fork copy more page tables).
      first_sight = self._seen.get(hash(part), -_KEEP_TASKS) <= self._task - _KEEP_TASKS
      self._seen[hash(part)] = self._task
      if first_sight:
        return marshal.loads(part)
      entry = self._parts[part] = [marshal.loads(part), self._task]
      self._bytes += len(part)
    entry[1] = self._task
    return entry[0]

  def evict(self) -> None:
    """Drops parts unused for _KEEP_TASKS tasks, then the oldest while over _MAX_CACHED_BYTES.

    Call after the child is reaped: freeing objects a live child still shares would copy pages.
    """
    oldest = self._task - _KEEP_TASKS
    for part in [p for p, (_, seen) in self._parts.items() if seen <= oldest]:
      self._drop(part)
    if len(self._seen) > 64:
      self._seen = {h: task for h, task in self._seen.items() if task > oldest}
    if self._bytes > _MAX_CACHED_BYTES:
      for part in sorted(self._parts, key=lambda p: self._parts[p][1]):
        if self._bytes <= _MAX_CACHED_BYTES:
          break
        self._drop(part)

  def _drop(self, part: bytes) -> None:
    del self._parts[part]
    self._bytes -= len(part)

  def __len__(self) -> int:
    return len(self._parts)
