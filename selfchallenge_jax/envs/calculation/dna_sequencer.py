"""DNA sequencer tools (M3ToolEval `cryptobotanists_plant_dna_sequencer`)."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs.base import ToolError
from selfchallenge_jax.envs.calculation.toolspec import STRING, Tool, make_tool

FAMILY = "dna_sequencer"
#: M3ToolEval's task names use this longer name; accepted as an alias.
M3TOOLEVAL_NAME = "cryptobotanists_plant_dna_sequencer"

# M3ToolEval's deliberately tiny genetic code: every other codon (and a trailing partial codon) is X.
CODON_TABLE = {"AUG": "Methionine", "UUU": "Phenylalanine", "UUC": "Phenylalanine"}
_DNA_TO_MRNA = str.maketrans("ACGT", "UGCA")
_MRNA_TO_DNA = str.maketrans("UCAG", "AGTC")


def count_nucleotides(dna_sequence: str) -> dict[str, int]:
  counts: dict[str, int] = {}   # first-appearance order, as collections.Counter gives
  for base in dna_sequence:
    counts[base] = counts.get(base, 0) + 1
  return counts


def transcribe_dna_to_mrna(dna_sequence: str) -> str:
  return dna_sequence.translate(_DNA_TO_MRNA)


def translate_mrna_to_amino_acid(mrna_sequence: str) -> str:
  codons = (mrna_sequence[i:i + 3] for i in range(0, len(mrna_sequence), 3))
  return "-".join(CODON_TABLE.get(codon, "X") for codon in codons)


def find_max_nucleotide(args: list[Any]) -> tuple[Any, Any]:
  """args = [k1, v1, k2, v2, ...]; returns (k, v) with the largest v, the first one on ties."""
  if not isinstance(args, list) or not args:
    raise ToolError("args must be a non-empty list in the form [k1, v1, k2, v2, ...].")
  counts = dict(zip(args[::2], args[1::2]))
  if not counts:
    raise ToolError("args must hold at least one (nucleotide, count) pair.")
  best = max(counts, key=counts.__getitem__)
  return best, counts[best]


def is_valid_dna_sequence(dna_sequence: str) -> bool:
  return set(dna_sequence) <= set("ACGT")


def reverse_transcribe_mrna_to_dna(mrna_sequence: str) -> str:
  return mrna_sequence.translate(_MRNA_TO_DNA)


_DNA = {"dna_sequence": STRING}
_MRNA = {"mrna_sequence": STRING}

TOOLS: tuple[Tool, ...] = (
    make_tool(count_nucleotides, "count_nucleotides",
              "Counts the occurrences of each nucleotide in a DNA sequence. Signature: "
              "count_nucleotides(dna_sequence: str) -> dict", _DNA),
    make_tool(transcribe_dna_to_mrna, "transcribe_dna_to_mrna",
              "Transcribes DNA sequence to mRNA. Signature: "
              "transcribe_dna_to_mrna(dna_sequence: str) -> str", _DNA),
    make_tool(translate_mrna_to_amino_acid, "translate_mrna_to_amino_acid",
              "Translates mRNA sequence to a chain of amino acids. Signature: "
              "translate_mrna_to_amino_acid(mrna_sequence: str) -> str", _MRNA),
    make_tool(find_max_nucleotide, "find_max_nucleotide",
              "Return the nucleotide (str) with the maximum count (int). Arguments: "
              "nucleotide counts in the form of (k1, v1, k2, v2, ..., kn, vn). Signature: "
              "find_max_nucleotide(*args) -> (str, int)",
              {"args": {"type": "array", "items": {"type": ["string", "integer"]},
                        "description": "[k1, v1, k2, v2, ...]"}}),
    make_tool(is_valid_dna_sequence, "is_valid_dna_sequence",
              "Checks if the DNA sequence is valid. Signature: "
              "is_valid_dna_sequence(dna_sequence: str) -> bool", _DNA),
    make_tool(reverse_transcribe_mrna_to_dna, "reverse_transcribe_mrna_to_dna",
              "Reverse transcribes mRNA sequence to DNA. Signature: "
              "reverse_transcribe_mrna_to_dna(mrna_sequence: str) -> str", _MRNA),
)
