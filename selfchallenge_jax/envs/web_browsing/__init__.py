"""Web Browsing: M3ToolEval's browsing tools over a generated or loaded site (see env.py).

Answers are checked with the calculation package's `answer_matches` (M3ToolEval's rules); M3ToolEval
web tasks load with `calculation.load_m3tooleval_tasks(..., web_pages_path=...)`.
"""

from selfchallenge_jax.envs.calculation.answer_match import answer_matches, extract_answer
from selfchallenge_jax.envs.web_browsing.benchmark import generate_benchmark_tasks
from selfchallenge_jax.envs.web_browsing.env import WebBrowsingEnv

__all__ = ["WebBrowsingEnv", "answer_matches", "extract_answer", "generate_benchmark_tasks"]
