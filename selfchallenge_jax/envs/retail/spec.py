"""The retail family (tau-bench retail: a customer-service agent, a policy, a simulated
customer): its record for envs/family.py."""

from selfchallenge_jax.envs.family import Family, persona_user_id, tau_scripted_task

#: tau-bench has one database per domain; the built-in stand-in is the one generated with seed 0.
DB_SEED = 0
#: The generator cycles through task kinds by position (cancel, return, exchange, ...).
TASK_KINDS = 8
GENERATOR = "selfchallenge_jax.envs.retail.tasks:generate_benchmark_tasks"


def _persona(state: dict, seed: int) -> str:
  user = state["users"][persona_user_id(state, seed)]
  name = user["name"]
  return f"Your name is {name['first_name']} {name['last_name']} and your email is {user['email']}."


FAMILY = Family(
    name="retail",
    env_class="selfchallenge_jax.envs.retail.env:RetailEnv",
    generator=GENERATOR,
    paper_test_size=115, conversational=True,
    challenger_role="You write tasks for a retail customer-service agent that follows this "
                    "policy:",
    challenger_rules="The instruction is what the customer is told; start it with the customer's "
                     "name and email. respond actions talk to the customer. state is the final "
                     "database (users, orders, products); verify checks the changed records, e.g. "
                     "state[\"orders\"][\"#W1\"][\"status\"] == \"cancelled\".",
    challenger_env_kwargs=lambda seed: {"seed": DB_SEED},
    scripted_task=tau_scripted_task(GENERATOR, TASK_KINDS), persona=_persona)
