"""Seeded trade-calculator benchmark tasks in the style of M3ToolEval's seventeen.

Expected values are computed with the same Python operations, in the same order, as the tools the
scripted expert calls, so both give bit-identical floats.
"""

from __future__ import annotations

import random
from typing import Callable

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation import trade_calculator as tc
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.calculation.env import CalculationEnv

Number = int | float
_COMMODITIES = ("space ore", "rare minerals", "space spices", "plasma crystals", "nebula silk",
                "quantum chips", "asteroid ice", "starfruit", "dark-matter cells", "helium-3")


def _final_value(total: Number, rate: Number, tariff_rate: Number) -> Number:
  converted = tc.convert_currency(total, rate)
  return tc.estimate_final_value(converted, tc.calculate_tariff(converted, tariff_rate))


def _expert_final_value(expert: ScriptedExpert, expression: str, rate: Number,
                        tariff_rate: Number) -> Number:
  total = expert.value("calculator", expression=expression)
  converted = expert.value("convert_currency", base_price=total, conversion_rate=rate)
  tariff = expert.value("calculate_tariff", price=converted, tariff_rate=tariff_rate)
  return expert.value("estimate_final_value", price=converted, tariff=tariff)


def _rate(rng: random.Random) -> float:
  return round(rng.uniform(1.1, 2.9), rng.choice((1, 2)))


def _single(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  q, p, r, t = rng.randrange(50, 2000, 10), rng.randrange(20, 500, 5), _rate(rng), rng.randint(2, 15)
  instruction = (f"Calculate the final trade value for an intergalactic trader who is exchanging {q} "
                 f"units of {rng.choice(_COMMODITIES)}. The base price per unit is {p} galactic "
                 f"credits, the conversion rate to local currency is {r}, and the trade tariff rate "
                 f"is {t}%. Provide the final trade value in local currency.")
  answer = _expert_final_value(expert, f"{q} * {p}", r, t)
  return instruction, format_expected(_final_value(q * p, r, t)), str(answer)


def _best_route(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  q, p, least = rng.randrange(100, 1500, 10), rng.randrange(20, 300, 5), rng.random() < 0.5
  routes = [(_rate(rng), rng.randint(2, 15)) for _ in range(rng.randint(2, 4))]
  described = ", ".join(f"Route {i + 1}: conversion rate of {r} and tariff rate of {t}%"
                        for i, (r, t) in enumerate(routes))
  which = "least" if least else "greatest"
  instruction = (f"An intergalactic trader is analyzing trade routes to sell a cargo of {q} units of "
                 f"{rng.choice(_COMMODITIES)} at a base price of {p} credits per unit. {described}. "
                 f"Find the {which} final trade value after applying conversion and tariff and "
                 f"answer that value.")
  values = [_expert_final_value(expert, f"{q} * {p}", r, t) for r, t in routes]
  answer = expert.call("find_minimum" if least else "find_maximum", args=values)
  expected = (min if least else max)(_final_value(q * p, r, t) for r, t in routes)
  return instruction, format_expected(expected), answer


def _seasonal_list(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  q, r, t = rng.randrange(50, 500, 10), _rate(rng), rng.randint(2, 15)
  prices = [rng.randrange(100, 400, 10) for _ in range(3)]
  instruction = (f"A trader deals in {rng.choice(_COMMODITIES)} whose base price varies by season: "
                 f"{prices[0]} credits in summer, {prices[1]} credits in autumn, {prices[2]} credits "
                 f"in winter. The quantity is {q} units, the conversion rate is {r}, and the tariff "
                 f"rate is {t}%. Calculate the final trade values for each season and list them in "
                 f"the order of summer, autumn, winter. Example: 'Answer: [1000, 2000, 3000]'")
  values = [_expert_final_value(expert, f"{p} * {q}", r, t) for p in prices]
  return instruction, format_expected([_final_value(p * q, r, t) for p in prices]), str(values)


def _net_profit(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  offers = [(rng.randrange(50, 500, 10), rng.randrange(50, 400, 10), _rate(rng),
             rng.randint(2, 12)) for _ in range(2)]
  (q1, p1, r1, t1), (q2, p2, r2, t2) = offers
  instruction = (f"A trader balances two offers. Offer 1: Sell {q1} units at {p1} credits per unit, "
                 f"conversion rate {r1}, tariff rate {t1}%. Offer 2: Buy {q2} units at {p2} credits "
                 f"per unit, conversion rate {r2}, tariff rate {t2}%. Determine the net profit or "
                 f"loss by subtracting the total cost of Offer 2 from the total revenue of Offer 1.")
  v1 = _expert_final_value(expert, f"{q1} * {p1}", r1, t1)
  v2 = _expert_final_value(expert, f"{q2} * {p2}", r2, t2)
  answer = expert.call("calculator", expression=f"{v1!r} - {v2!r}")
  expected = _final_value(q1 * p1, r1, t1) - _final_value(q2 * p2, r2, t2)
  return instruction, format_expected(expected), answer


def _bulk_discount(rng: random.Random, expert: ScriptedExpert) -> tuple[str, str, str]:
  threshold, discount = rng.choice((500, 1000, 2000)), rng.choice((5, 10, 15))
  q = rng.randrange(threshold // 2, threshold * 2, 50)
  p, r, t = rng.randrange(100, 2000, 50), _rate(rng), rng.randint(2, 15)
  factor = round(1 - discount / 100, 2)
  instruction = (f"A merchant offers a {discount}% discount on purchases of {threshold} units or more "
                 f"of {rng.choice(_COMMODITIES)}. The base price per unit is {p} galactic credits, "
                 f"the conversion rate is {r} and the tariff rate is {t}%. Calculate the total cost "
                 f"after discount, conversion, and tariff for a trade of {q} units.")
  expression = f"{q} * {p} * {factor}" if q >= threshold else f"{q} * {p}"
  answer = _expert_final_value(expert, expression, r, t)
  total = q * p * factor if q >= threshold else q * p
  return instruction, format_expected(_final_value(total, r, t)), str(answer)


_TEMPLATES: tuple[tuple[str, Callable[..., tuple[str, str, str]]], ...] = (
    ("single_trade", _single), ("best_route", _best_route), ("seasonal_list", _seasonal_list),
    ("net_profit", _net_profit), ("bulk_discount", _bulk_discount),
)

# Task i of a seed is kind i % len(TASK_KINDS).
TASK_KINDS: tuple[str, ...] = tuple(name for name, _ in _TEMPLATES)


def generate_benchmark_tasks(n: int, seed: int) -> list[BenchmarkTask]:
  tasks = []
  for i in range(n):
    name, template = _TEMPLATES[i % len(_TEMPLATES)]
    rng = random.Random(f"{tc.FAMILY}/{seed}/{i}")
    env_kwargs = {"family": tc.FAMILY, "seed": seed}
    expert = ScriptedExpert(CalculationEnv(**env_kwargs))
    instruction, expected, answer = template(rng, expert)
    tasks.append(expert.finish(answer, expected, f"calculation/{tc.FAMILY}/{name}/{seed}-{i}",
                               "calculation", env_kwargs, instruction))
  return tasks
