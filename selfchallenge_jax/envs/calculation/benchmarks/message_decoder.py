"""Seeded message-decoder benchmark tasks in the style of M3ToolEval's eight."""

from __future__ import annotations

import random
from typing import Callable

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation import message_decoder as md
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.calculation.env import CalculationEnv

_WORDS = (
    "alpha", "beacon", "comet", "delta", "ember", "falcon", "galaxy", "harbor", "island", "jasper",
    "kepler", "lunar", "meteor", "nebula", "orbit", "photon", "quasar", "rocket", "saturn", "tundra",
    "umbra", "vertex", "willow", "xenon", "yonder", "zephyr", "signal", "portal", "cipher", "relay",
    "Mars", "Venus", "Orion", "Vega", "Sirius", "Titan", "Europa", "Andromeda",
)


def _encode(plain: str, shift: int, reverse: bool) -> str:
  """Inverse of the decoding chain hex -> ascii -> (reverse) -> caesar_decode(shift)."""
  text = md.caesar_encode(plain, shift)
  if reverse:
    text = text[::-1]
  return text.encode("utf-8").hex()


def _phrase(rng: random.Random) -> str:
  return " ".join(rng.sample(_WORDS, rng.randint(1, 2)))


def _decode(expert: ScriptedExpert, hex_string: str, shift: int, reverse: bool) -> str:
  text = expert.call("convert_hex_to_ascii", hex_string=hex_string)
  if reverse:
    text = expert.call("reverse_string", string=text)
  return expert.call("caesar_decode", message=text, shift=shift)


def _full_decode(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  plain, shift, reverse = _phrase(rng), rng.randint(1, 25), rng.random() < 0.7
  hex_string = _encode(plain, shift, reverse)
  steps = "decode it from hex to ASCII, " + ("reverse it, " if reverse else "")
  instruction = (f"Given the hex-encoded message '{hex_string}', {steps}then apply a Caesar cipher "
                 f"decode with a shift of {shift}. What is the decoded message?")
  return instruction, format_expected(plain), _decode(expert, hex_string, shift, reverse)


def _extreme_length(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  shift, shortest = rng.randint(1, 25), rng.random() < 0.5
  plains = rng.sample(_WORDS, rng.randint(3, 4))
  hexes = [_encode(p, shift, True) for p in plains]
  which = "shortest" if shortest else "longest"
  instruction = (f"Given a list of hex-encoded strings, decode each one from hex to ASCII, reverse "
                 f"it, and then apply a Caesar cipher decode with a shift of {shift}. Find the "
                 f"length of the {which} decoded message. The list of hex strings is {hexes}.")
  lengths = [int(expert.call("string_length", string=_decode(expert, h, shift, True)))
             for h in hexes]
  answer = expert.call("minimum_value" if shortest else "maximum_value", args=lengths)
  expected = (min if shortest else max)(len(p) for p in plains)
  return instruction, format_expected(expected), answer


def _length_match(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  shift = rng.randint(1, 25)
  by_length: dict[int, str] = {}
  for word in rng.sample(_WORDS, len(_WORDS)):
    by_length.setdefault(len(word), word)   # one word per length, so the match is unique
  plains = rng.sample(list(by_length.values()), 3)
  target = rng.choice(plains)
  hexes = [_encode(p, shift, False) for p in plains]
  instruction = (f"Given the hex-encoded messages {hexes}, decode each one from hex to ASCII and "
                 f"then with a Caesar cipher decode with a shift of {shift}. Find the message "
                 f"whose length is {len(target)} after decoding.")
  answer = ""
  for h in hexes:
    decoded = _decode(expert, h, shift, False)
    if int(expert.call("string_length", string=decoded)) == len(target):
      answer = decoded
  return instruction, format_expected(target), answer


def _numeric_extreme(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  shift, largest = rng.randint(1, 25), rng.random() < 0.5
  numbers = [str(rng.randint(100, 99999)) for _ in range(3)]
  hexes = [_encode(n, shift, False) for n in numbers]   # digits pass through the cipher unchanged
  which = "maximum" if largest else "minimum"
  instruction = (f"Decode each of the hex-encoded messages {hexes} from hex to ASCII, apply a "
                 f"Caesar cipher decode with a shift of {shift}, then reverse it. The decoded "
                 f"strings represent integers: find their numerical {which}.")
  values = []
  for h in hexes:
    text = expert.call("caesar_decode", message=expert.call("convert_hex_to_ascii", hex_string=h),
                       shift=shift)
    values.append(int(expert.call("reverse_string", string=text)))
  answer = expert.call("maximum_value" if largest else "minimum_value", args=values)
  expected = (max if largest else min)(int(n[::-1]) for n in numbers)
  return instruction, format_expected(expected), answer


_TEMPLATES: tuple[tuple[str, Callable[..., tuple[str, str, str]]], ...] = (
    ("full_decode", _full_decode), ("extreme_length", _extreme_length),
    ("length_match", _length_match), ("numeric_extreme", _numeric_extreme),
)

# Task i of a seed is kind i % len(TASK_KINDS).
TASK_KINDS: tuple[str, ...] = tuple(name for name, _ in _TEMPLATES)


def generate_benchmark_tasks(n: int, seed: int) -> list[BenchmarkTask]:
  tasks = []
  for i in range(n):
    name, template = _TEMPLATES[i % len(_TEMPLATES)]
    rng = random.Random(f"{md.FAMILY}/{seed}/{i}")
    env_kwargs = {"family": md.FAMILY, "seed": seed}
    expert = ScriptedExpert(CalculationEnv(**env_kwargs))
    instruction, expected, answer = template(rng, expert)
    tasks.append(expert.finish(answer, expected, f"calculation/{md.FAMILY}/{name}/{seed}-{i}",
                               "calculation", env_kwargs, instruction))
  return tasks
