"""How kwargs travel from the pool to a worker: marshal, with large dicts split into parts that the
worker keeps decoded between batches.

    pool:   encoded = Encoder().encode(kwargs)           one Encoder per map() call
            drop, stores, frames = WorkerParts.plan([encoded, ...])    one WorkerParts per worker
    worker: store.update(drop, stores, blobs); kwargs = store.build(frame); ...; store.end_batch()

A state dict (e.g. a retail database: users, orders, products) is encoded one top-level value per
part. Decoding ~100 KB of state per verification and freeing it after the fork cost about a third
of a verification, and encoding and piping it a sixth more, so:
- an Encoder encodes each distinct object once (by identity, for the length of one map() call:
  the same state checked against several answers is encoded once);
- a part travels to a worker once per batch at most, and not at all while the worker still holds
  it: the pool's WorkerParts records which parts each worker holds (by their exact bytes) and
  tells it which to drop. A part is kept past its batch only from its second arrival on, so a
  stream of always-new states costs nothing extra (kept objects make every fork copy more page
  tables), and dropped after KEEP_BATCHES batches without use or when over MAX_KEPT_BYTES.
A child gets a copy-on-write view of those objects, so nothing it does reaches the worker or
another task, exactly as with a fresh decode. Results equal `marshal.loads(marshal.dumps(kwargs))`,
except that an object shared between two top-level values arrives as two equal copies (and equal
parts in one call are never aliased).

Never used on anything a child sends: replies are size-capped JSON. Stdlib only (workers run
`python -I -S`).
"""

from __future__ import annotations

import dataclasses
import marshal
from typing import Any

SPLIT_MIN_BYTES = 16 << 10   # dicts smaller than this travel whole
SLOT_MIN_BYTES = 4 << 10     # parts smaller than this are cheaper to decode than to keep
KEEP_BATCHES = 4             # kept parts unused for this many batches are dropped
MAX_KEPT_BYTES = 4 << 20     # of encoded parts per worker; their objects take ~10x as much memory
_MAX_SEEN = 256

Split = list[tuple[str, list[tuple[Any, bytes]]]]


@dataclasses.dataclass(frozen=True)
class Encoded:
  """One call's kwargs: `plain` (a marshal blob of the small ones) and the split large dicts."""
  plain: bytes
  split: Split
  size: int   # bytes on the wire


class Encoder:
  """Encodes kwargs, each distinct large dict and part once; holds what it saw, so ids stay valid.

  Use one per call of the pool (the objects must not change while it lives).
  """

  def __init__(self) -> None:
    self._dicts: dict[int, tuple[Any, list[tuple[Any, bytes]] | None]] = {}
    self._parts: dict[int, tuple[Any, bytes]] = {}

  def encode(self, kwargs: dict[str, Any]) -> Encoded:
    """Raises like marshal.dumps (ValueError for what is not plain data)."""
    plain: dict[str, Any] = {}
    split: Split = []
    for name, value in kwargs.items():
      parts = self._split(value) if type(value) is dict and len(value) > 1 else None
      if parts is None:
        plain[name] = value
      else:
        split.append((name, parts))
    plain_blob = marshal.dumps(plain)
    size = len(plain_blob) + sum(len(blob) for _, parts in split for _, blob in parts)
    return Encoded(plain_blob, split, size)

  def _split(self, value: dict[Any, Any]) -> list[tuple[Any, bytes]] | None:
    known = self._dicts.get(id(value))
    if known is not None:
      return known[1]
    parts = [(key, self._part(item)) for key, item in value.items()]
    if sum(len(blob) for _, blob in parts) < SPLIT_MIN_BYTES:
      parts = None
    self._dicts[id(value)] = (value, parts)
    return parts

  def _part(self, item: Any) -> bytes:
    known = self._parts.get(id(item))
    if known is None:
      known = self._parts[id(item)] = (item, marshal.dumps(item))
    return known[1]


def inline(encoded: Encoded) -> bytes:
  """A task frame with every part inside, for `decode` (used where the child decodes)."""
  return marshal.dumps((encoded.plain, encoded.split))


class WorkerParts:
  """The pool's record of the parts one worker holds, and what each batch must send it.

  Not thread-safe: use it only while holding the worker. Call reset() when the worker restarts.
  """

  def __init__(self) -> None:
    self.reset()

  def reset(self) -> None:
    self._kept: dict[bytes, list[int]] = {}   # part blob -> [slot, last batch it was used in]
    self._seen: dict[int, int] = {}           # hash of a part blob -> last batch it came in
    self._kept_bytes = 0
    self._batch = 0
    self._next_slot = 0

  def plan(self, tasks: list[Encoded]) -> tuple[list[int], list[tuple[int, bool, bytes]],
                                                list[bytes]]:
    """(slots to drop, parts to store as (slot, keep, blob), one frame per task)."""
    self._batch += 1
    stores: list[tuple[int, bool, bytes]] = []
    this_batch: dict[bytes, int] = {}
    frames = []
    for task in tasks:
      used: set[bytes] = set()   # a part twice in one call travels inline: no new aliasing
      refs = []
      for name, parts in task.split:
        items: list[tuple[Any, int | bytes]] = []
        for key, blob in parts:
          if len(blob) < SLOT_MIN_BYTES or blob in used:
            items.append((key, blob))
            continue
          used.add(blob)
          slot = this_batch.get(blob)
          if slot is None:
            slot = this_batch[blob] = self._slot_for(blob, stores)
          items.append((key, slot))
        refs.append((name, items))
      frames.append(marshal.dumps((task.plain, refs)))
    return self._evict(), stores, frames

  def _slot_for(self, blob: bytes, stores: list[tuple[int, bool, bytes]]) -> int:
    entry = self._kept.get(blob)
    if entry is not None:
      entry[1] = self._batch
      return entry[0]
    key = hash(blob)
    keep = self._seen.get(key, -KEEP_BATCHES) > self._batch - KEEP_BATCHES
    self._seen[key] = self._batch
    slot = self._next_slot
    self._next_slot += 1
    if keep:
      self._kept[blob] = [slot, self._batch]
      self._kept_bytes += len(blob)
    stores.append((slot, keep, blob))
    return slot

  def _evict(self) -> list[int]:
    """Kept parts unused for KEEP_BATCHES batches, then the least recently used while over
    MAX_KEPT_BYTES; never one this batch uses."""
    oldest = self._batch - KEEP_BATCHES
    by_age = sorted(self._kept.items(), key=lambda item: item[1][1])
    drop = []
    for blob, (slot, last) in by_age:
      if last == self._batch or (last > oldest and self._kept_bytes <= MAX_KEPT_BYTES):
        break
      del self._kept[blob]
      self._kept_bytes -= len(blob)
      drop.append(slot)
    if len(self._seen) > _MAX_SEEN:
      self._seen = {key: batch for key, batch in self._seen.items() if batch > oldest}
    return drop

  def __len__(self) -> int:
    return len(self._kept)


class PartStore:
  """The worker's side: decoded parts by slot, as the pool's WorkerParts says."""

  def __init__(self) -> None:
    self._slots: dict[int, Any] = {}
    self._transient: list[int] = []

  def update(self, drop: list[int], stores: list[tuple[int, bool]], blobs: list[bytes]) -> None:
    """Raises ValueError/EOFError/TypeError on a malformed blob, MemoryError when out of memory."""
    for slot in drop:
      self._slots.pop(slot, None)
    for (slot, keep), blob in zip(stores, blobs):
      self._slots[slot] = marshal.loads(blob)
      if not keep:
        self._transient.append(slot)

  def build(self, frame: bytes) -> dict[str, Any]:
    """One task's kwargs; raises like update, and KeyError for a slot it does not hold."""
    return _assemble(frame, self._slots)

  def end_batch(self) -> None:
    """Call once the batch's children are reaped: frees the parts kept for this batch only."""
    for slot in self._transient:
      self._slots.pop(slot, None)
    self._transient.clear()

  def __len__(self) -> int:
    return len(self._slots)


def decode(frame: bytes) -> dict[str, Any]:
  """A frame from `inline` (every part inside); raises like PartStore.build."""
  return _assemble(frame, {})


def _assemble(frame: bytes, slots: dict[int, Any]) -> dict[str, Any]:
  plain_blob, refs = marshal.loads(frame)
  kwargs = marshal.loads(plain_blob)
  if type(kwargs) is not dict or type(refs) is not list:
    raise TypeError("kwargs must be a dict")
  loads = marshal.loads
  for name, items in refs:
    kwargs[name] = {key: slots[ref] if type(ref) is int else loads(ref) for key, ref in items}
  return kwargs
