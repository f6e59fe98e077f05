"""The airline family (tau-bench airline: a booking agent, a policy, a simulated customer): its
record for envs/family.py."""

from selfchallenge_jax.envs.family import Family

#: tau-bench has one database per domain; the built-in stand-in is the one generated with seed 0.
DB_SEED = 0
#: The generator cycles through task kinds by position.
TASK_KINDS = 6


def _scripted_task(env_seed: int, env_kwargs: dict):
  from selfchallenge_jax.envs.airline.tasks import generate_benchmark_tasks
  return generate_benchmark_tasks(env_seed % TASK_KINDS + 1, env_seed,
                                  db_seed=env_kwargs["seed"])[-1]


def _persona(state: dict, seed: int) -> str:
  import random
  return f"Your user id is {random.Random(f'challenger-persona-{seed}').choice(sorted(state['users']))}."


FAMILY = Family(
    name="airline",
    env_class="selfchallenge_jax.envs.airline.env:AirlineEnv",
    generator="selfchallenge_jax.envs.airline.tasks:generate_benchmark_tasks",
    paper_test_size=50, conversational=True,
    challenger_role="You write tasks for an airline customer-service agent that follows this "
                    "policy:",
    challenger_rules="The instruction is what the customer is told; start it with the customer's "
                     "user id. respond actions talk to the customer. state is the final database "
                     "(users, flights, reservations); verify checks the changed records, e.g. "
                     "state[\"reservations\"][\"ABC123\"][\"status\"] == \"cancelled\".",
    challenger_env_kwargs=lambda seed: {"seed": DB_SEED}, scripted_task=_scripted_task,
    persona=_persona)
