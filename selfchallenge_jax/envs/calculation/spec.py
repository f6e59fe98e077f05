"""The calculation family (M3ToolEval's message decoder, DNA sequencer, trade calculator and
travel itinerary tasks): its record for envs/family.py."""

from selfchallenge_jax.envs.family import Family

_ANSWER_RULE = ("The agent ends with a respond action 'Answer: <value>'; verify checks that "
                "value.")


def _challenger_env_kwargs(seed: int) -> dict:
  # One M3ToolEval sub-family per episode, as its tasks use: a shorter tool list, a focused task.
  from selfchallenge_jax.envs.calculation.families import FAMILIES
  return {"family": FAMILIES[seed % len(FAMILIES)], "seed": seed}


def _scripted_task(env_seed: int, env_kwargs: dict):
  # The sub-family is seed % 4 (_challenger_env_kwargs); the task kind within it varies with the
  # seed's quotient (task k of a seed is kind k), so the scripted records cover every kind.
  from selfchallenge_jax.envs.calculation.benchmarks import GENERATORS
  from selfchallenge_jax.envs.calculation.families import FAMILIES
  generator = GENERATORS[env_kwargs["family"]]
  kind = env_seed // len(FAMILIES) % len(generator.TASK_KINDS)
  return generator.generate_benchmark_tasks(kind + 1, env_seed)[-1]


FAMILY = Family(
    name="calculation",
    env_class="selfchallenge_jax.envs.calculation.env:CalculationEnv",
    generator="selfchallenge_jax.envs.calculation.benchmarks:generate_benchmark_tasks",
    paper_test_size=48, conversational=False,
    challenger_role="You write tasks for an agent that solves calculation problems with the "
                    "tools below.",
    challenger_rules=_ANSWER_RULE,
    challenger_env_kwargs=_challenger_env_kwargs, scripted_task=_scripted_task)
