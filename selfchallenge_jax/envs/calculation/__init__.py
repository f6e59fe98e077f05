"""Calculation: M3ToolEval's four calculation families (see env.py) and their benchmark tasks."""

from selfchallenge_jax.envs.calculation.answer_match import answer_matches, extract_answer
from selfchallenge_jax.envs.calculation.benchmarks import (generate_benchmark_tasks,
                                                           load_m3tooleval_tasks)
from selfchallenge_jax.envs.calculation.env import CalculationEnv
from selfchallenge_jax.envs.calculation.families import ALL, FAMILIES

__all__ = ["ALL", "FAMILIES", "CalculationEnv", "answer_matches", "extract_answer",
           "generate_benchmark_tasks", "load_m3tooleval_tasks"]
