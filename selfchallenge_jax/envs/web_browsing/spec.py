"""The web browsing family (M3ToolEval's generated company websites): its record for
envs/family.py."""

from selfchallenge_jax.envs.family import Family


def _scripted_task(env_seed: int, env_kwargs: dict):
  # The task kind varies with the seed (task k of a seed is kind k), so the scripted challenger's
  # records, and the warm-up demos made of them, cover every kind, not only the first (price).
  del env_kwargs
  from selfchallenge_jax.envs.web_browsing.benchmark import TASK_KINDS, generate_benchmark_tasks
  return generate_benchmark_tasks(env_seed % len(TASK_KINDS) + 1, env_seed)[-1]


FAMILY = Family(
    name="web_browsing",
    env_class="selfchallenge_jax.envs.web_browsing.env:WebBrowsingEnv",
    generator="selfchallenge_jax.envs.web_browsing.benchmark:generate_benchmark_tasks",
    paper_test_size=34, conversational=False,
    challenger_role="You write tasks for an agent that browses a company website with the tools "
                    "below (start with view).",
    challenger_rules="The agent ends with a respond action 'Answer: <value>'; verify checks that "
                     "value.",
    challenger_env_kwargs=lambda seed: {"seed": seed}, scripted_task=_scripted_task)
