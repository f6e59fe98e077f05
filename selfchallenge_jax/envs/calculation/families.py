"""The four M3ToolEval calculation families and how an environment selects among them.

`family` may be "all" (every family's tools at once; the default, for the challenger's exploration),
one family name, or a list of names. M3ToolEval shows an agent only one family's tools per task, so
benchmark tasks set `family` to their own family.
"""

from __future__ import annotations

from typing import Sequence

from selfchallenge_jax.envs.calculation import (dna_sequencer, message_decoder, trade_calculator,
                                                travel_itinerary)

FAMILIES: tuple[str, ...] = (message_decoder.FAMILY, dna_sequencer.FAMILY,
                             trade_calculator.FAMILY, travel_itinerary.FAMILY)
ALL = "all"
_ALIASES = {dna_sequencer.M3TOOLEVAL_NAME: dna_sequencer.FAMILY}


def resolve_families(family: str | Sequence[str]) -> tuple[str, ...]:
  """Normalizes the `family` argument to a tuple of family names in canonical order."""
  names = [family] if isinstance(family, str) else list(family)
  if not names:
    raise ValueError("family must name at least one family")
  if ALL in names:
    return FAMILIES
  chosen = set()
  for name in names:
    name = _ALIASES.get(name, name)
    if name not in FAMILIES:
      raise ValueError(f"unknown calculation family {name!r}; known: {', '.join(FAMILIES)}, {ALL}")
    chosen.add(name)
  return tuple(f for f in FAMILIES if f in chosen)


def canonical_family(name: str) -> str:
  """The canonical name of one family (resolving aliases); "all" is not one family."""
  families = resolve_families(name)
  if len(families) != 1:
    raise ValueError(f"expected a single family name, got {name!r}")
  return families[0]
