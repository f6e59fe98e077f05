"""The airline family (tau-bench airline: a booking agent, a policy, a simulated customer): its
record for envs/family.py."""

from selfchallenge_jax.envs.family import Family, persona_user_id, tau_scripted_task

#: tau-bench has one database per domain; the built-in stand-in is the one generated with seed 0.
DB_SEED = 0
#: The generator cycles through task kinds by position.
TASK_KINDS = 6
GENERATOR = "selfchallenge_jax.envs.airline.tasks:generate_benchmark_tasks"

FAMILY = Family(
    name="airline",
    env_class="selfchallenge_jax.envs.airline.env:AirlineEnv",
    generator=GENERATOR,
    paper_test_size=50, conversational=True,
    challenger_role="You write tasks for an airline customer-service agent that follows this "
                    "policy:",
    challenger_rules="The instruction is what the customer is told; start it with the customer's "
                     "user id. respond actions talk to the customer. state is the final database "
                     "(users, flights, reservations); verify checks the changed records, e.g. "
                     "state[\"reservations\"][\"ABC123\"][\"status\"] == \"cancelled\".",
    challenger_env_kwargs=lambda seed: {"seed": DB_SEED},
    scripted_task=tau_scripted_task(GENERATOR, TASK_KINDS),
    persona=lambda state, seed: f"Your user id is {persona_user_id(state, seed)}.")
