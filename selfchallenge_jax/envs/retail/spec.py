"""The retail family (tau-bench retail: a customer-service agent, a policy, a simulated
customer): its record for envs/family.py."""

from selfchallenge_jax.envs.family import Family

#: tau-bench has one database per domain; the built-in stand-in is the one generated with seed 0.
DB_SEED = 0
#: The generator cycles through task kinds by position (cancel, return, exchange, ...).
TASK_KINDS = 8


def _scripted_task(env_seed: int, env_kwargs: dict):
  from selfchallenge_jax.envs.retail.tasks import generate_benchmark_tasks
  # Position k is kind k: varying k with the seed covers every kind.
  return generate_benchmark_tasks(env_seed % TASK_KINDS + 1, env_seed,
                                  db_seed=env_kwargs["seed"])[-1]


def _persona(state: dict, seed: int) -> str:
  import random
  user = state["users"][random.Random(f"challenger-persona-{seed}").choice(sorted(state["users"]))]
  name = user["name"]
  return f"Your name is {name['first_name']} {name['last_name']} and your email is {user['email']}."


FAMILY = Family(
    name="retail",
    env_class="selfchallenge_jax.envs.retail.env:RetailEnv",
    generator="selfchallenge_jax.envs.retail.tasks:generate_benchmark_tasks",
    paper_test_size=115, conversational=True,
    challenger_role="You write tasks for a retail customer-service agent that follows this "
                    "policy:",
    challenger_rules="The instruction is what the customer is told; start it with the customer's "
                     "name and email. respond actions talk to the customer. state is the final "
                     "database (users, orders, products); verify checks the changed records, e.g. "
                     "state[\"orders\"][\"#W1\"][\"status\"] == \"cancelled\".",
    challenger_env_kwargs=lambda seed: {"seed": DB_SEED}, scripted_task=_scripted_task,
    persona=_persona)
