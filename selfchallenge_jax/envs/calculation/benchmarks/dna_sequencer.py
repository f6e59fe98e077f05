"""Seeded DNA-sequencer benchmark tasks in the style of M3ToolEval's eight."""

from __future__ import annotations

import random
from typing import Callable

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation import dna_sequencer as dna
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.calculation.env import CalculationEnv

INVALID = "Invalid DNA sequence"
# DNA codons whose transcripts the tiny codon table knows (AUG, UUU, UUC), so chains are not all X.
_KNOWN_DNA_CODONS = ("TAC", "AAA", "AAG")


def _sequence(rng: random.Random, length: int, unique_max: bool = True) -> str:
  """A random DNA sequence; with unique_max, one nucleotide is strictly the most common, because
  "the most common nucleotide" must have one right answer."""
  while True:
    seq = "".join(rng.choice("ACGT") for _ in range(length))
    counts = sorted(dna.count_nucleotides(seq).values(), reverse=True)
    if not unique_max or len(counts) == 1 or counts[0] > counts[1]:
      return seq


def _coding_sequence(rng: random.Random) -> str:
  codons = [rng.choice(_KNOWN_DNA_CODONS) if rng.random() < 0.4
            else "".join(rng.choice("ACGT") for _ in range(3)) for _ in range(rng.randint(2, 5))]
  return "".join(codons) + "".join(rng.choice("ACGT") for _ in range(rng.randint(0, 2)))


def _flat_counts(counts: dict[str, int]) -> list[object]:
  return [x for pair in counts.items() for x in pair]


def _max_nucleotide(expert: ScriptedExpert, dna_sequence: str) -> tuple[str, int]:
  counts = expert.value("count_nucleotides", dna_sequence=dna_sequence)
  return expert.value("find_max_nucleotide", args=_flat_counts(counts))


def _most_common_transcribed(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  seq = _sequence(rng, rng.randint(10, 18))
  instruction = (f"Find the most common nucleotide in the DNA sequence '{seq}' and transcribe that "
                 f"nucleotide (repeated three times) to mRNA.")
  best, _ = _max_nucleotide(expert, seq)
  answer = expert.call("transcribe_dna_to_mrna", dna_sequence=best * 3)
  counts = dna.count_nucleotides(seq)
  expected = dna.transcribe_dna_to_mrna(max(counts, key=counts.__getitem__) * 3)
  return instruction, format_expected(expected), answer


def _validate_translate(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  seq = _coding_sequence(rng)
  if rng.random() < 0.35:
    i = rng.randrange(len(seq))
    seq = seq[:i] + rng.choice("XYNBZ") + seq[i + 1:]
  instruction = (f"Check if the DNA sequence '{seq}' is valid, and if so, transcribe it to mRNA and "
                 f"translate that to an amino acid sequence. Otherwise, answer '{INVALID}'.")
  if expert.call("is_valid_dna_sequence", dna_sequence=seq) == "True":
    mrna = expert.call("transcribe_dna_to_mrna", dna_sequence=seq)
    answer = expert.call("translate_mrna_to_amino_acid", mrna_sequence=mrna)
  else:
    answer = INVALID
  valid = set(seq) <= set("ACGT")
  expected = (dna.translate_mrna_to_amino_acid(dna.transcribe_dna_to_mrna(seq)) if valid
              else INVALID)
  return instruction, format_expected(expected), answer


def _reverse_transcribe_max(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  mrna = _sequence(rng, rng.randint(8, 15)).replace("T", "U")
  instruction = (f"For the mRNA sequence '{mrna}', reverse transcribe it to DNA, count the "
                 f"nucleotides, and find the maximum occurring nucleotide. Answer the maximum "
                 f"occurring nucleotide, not the count.")
  answer, _ = _max_nucleotide(expert, expert.call("reverse_transcribe_mrna_to_dna",
                                                  mrna_sequence=mrna))
  counts = dna.count_nucleotides(dna.reverse_transcribe_mrna_to_dna(mrna))
  return instruction, format_expected(max(counts, key=counts.__getitem__)), answer


def _chain_length(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  seq = _coding_sequence(rng)
  instruction = (f"Transcribe the DNA sequence '{seq}' to mRNA, translate it to an amino acid "
                 f"sequence, and determine the length of the amino acid sequence.")
  mrna = expert.call("transcribe_dna_to_mrna", dna_sequence=seq)
  chain = expert.call("translate_mrna_to_amino_acid", mrna_sequence=mrna)
  expected = len(dna.translate_mrna_to_amino_acid(dna.transcribe_dna_to_mrna(seq)).split("-"))
  return instruction, format_expected(expected), str(len(chain.split("-")))


def _reverse_transcribe_counts(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  mrna = _sequence(rng, rng.randint(6, 12), unique_max=False).replace("T", "U")
  instruction = (f"Reverse transcribe the mRNA sequence '{mrna}' to DNA, and count the nucleotides "
                 f"in the DNA sequence. Answer with a dictionary, e.g. {{'A': 1, 'C': 2}}.")
  answer = expert.call("count_nucleotides", dna_sequence=expert.call(
      "reverse_transcribe_mrna_to_dna", mrna_sequence=mrna))
  expected = dna.count_nucleotides(dna.reverse_transcribe_mrna_to_dna(mrna))
  return instruction, format_expected(expected), answer


def _longest_valid(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  lengths = rng.sample(range(4, 13), 4)   # distinct lengths: the longest valid one is unique
  seqs = [_sequence(rng, n, unique_max=False) for n in lengths]
  for i in rng.sample(range(4), rng.randint(1, 2)):
    seqs[i] = seqs[i][:-1] + rng.choice("XYZ")
  instruction = (f"Given the DNA sequences {seqs}, check which are valid and find the longest valid "
                 f"DNA sequence.")
  valid = [s for s in seqs if expert.call("is_valid_dna_sequence", dna_sequence=s) == "True"]
  answer = max(valid, key=len)   # the DNA family has no length tool; lengths are read off
  expected = max((s for s in seqs if set(s) <= set("ACGT")), key=len)
  return instruction, format_expected(expected), answer


def _contains_amino_acid(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  seq, target = _coding_sequence(rng), rng.choice(("Methionine", "Phenylalanine"))
  instruction = (f"Transcribe the DNA sequence '{seq}' to mRNA, translate it to an amino acid "
                 f"sequence, and check if '{target}' is in the amino acid sequence. Answer 'True' "
                 f"or 'False'.")
  chain = expert.call("translate_mrna_to_amino_acid",
                      mrna_sequence=expert.call("transcribe_dna_to_mrna", dna_sequence=seq))
  expected = target in dna.translate_mrna_to_amino_acid(dna.transcribe_dna_to_mrna(seq))
  return instruction, format_expected(expected), str(target in chain)


def _combined_most_common(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  combined = _sequence(rng, 4 * rng.randint(3, 4))
  seqs = [combined[i:i + 4] for i in range(0, len(combined), 4)]
  instruction = (f"Combine the DNA sequences {seqs} and find the most common nucleotide in the "
                 f"combined sequence. Answer with the nucleotide and its count, e.g. ('A', 3).")
  answer = _max_nucleotide(expert, "".join(seqs))
  counts = dna.count_nucleotides(combined)
  best = max(counts, key=counts.__getitem__)
  return instruction, format_expected((best, counts[best])), str(answer)


_TEMPLATES: tuple[tuple[str, Callable[..., tuple[str, str, str]]], ...] = (
    ("most_common_transcribed", _most_common_transcribed),
    ("validate_translate", _validate_translate),
    ("reverse_transcribe_max", _reverse_transcribe_max),
    ("chain_length", _chain_length),
    ("reverse_transcribe_counts", _reverse_transcribe_counts),
    ("longest_valid", _longest_valid),
    ("contains_amino_acid", _contains_amino_acid),
    ("combined_most_common", _combined_most_common),
)

# Task i of a seed is kind i % len(TASK_KINDS).
TASK_KINDS: tuple[str, ...] = tuple(name for name, _ in _TEMPLATES)


def generate_benchmark_tasks(n: int, seed: int) -> list[BenchmarkTask]:
  tasks = []
  for i in range(n):
    name, template = _TEMPLATES[i % len(_TEMPLATES)]
    rng = random.Random(f"{dna.FAMILY}/{seed}/{i}")
    env_kwargs = {"family": dna.FAMILY, "seed": seed}
    expert = ScriptedExpert(CalculationEnv(**env_kwargs))
    instruction, expected, answer = template(rng, expert)
    tasks.append(expert.finish(answer, expected, f"calculation/{dna.FAMILY}/{name}/{seed}-{i}",
                               "calculation", env_kwargs, instruction))
  return tasks
