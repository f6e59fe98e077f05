"""AirlineEnv: tau-bench's airline domain (14 tools over users / flights / reservations).

    env = envs.make("airline", seed=0)                 # built-in generated airline
    env = envs.make("airline", data_dir="tau_bench/envs/airline/data")   # tau-bench's own files
    first = env.reset(task=benchmark_task)             # scripted user follows the task
"""

from __future__ import annotations

from selfchallenge_jax.envs.airline import tools_booking, tools_lookup, tools_update
from selfchallenge_jax.envs.airline.data import airline_data_json
from selfchallenge_jax.envs.airline.policy import AIRLINE_POLICY
from selfchallenge_jax.envs.airline.schemas import AIRLINE_TOOL_SCHEMAS
from selfchallenge_jax.envs.tau_common import COMMON_TOOLS, TauEnvironment

AIRLINE_TOOLS = {
    **COMMON_TOOLS,
    "get_user_details": tools_lookup.get_user_details,
    "get_reservation_details": tools_lookup.get_reservation_details,
    "list_all_airports": tools_lookup.list_all_airports,
    "search_direct_flight": tools_lookup.search_direct_flight,
    "search_onestop_flight": tools_lookup.search_onestop_flight,
    "book_reservation": tools_booking.book_reservation,
    "cancel_reservation": tools_booking.cancel_reservation,
    "send_certificate": tools_booking.send_certificate,
    "update_reservation_flights": tools_update.update_reservation_flights,
    "update_reservation_passengers": tools_update.update_reservation_passengers,
    "update_reservation_baggages": tools_update.update_reservation_baggages,
}


class AirlineEnv(TauEnvironment):
  name = "airline"
  TOOLS = AIRLINE_TOOLS
  TOOL_SCHEMAS = AIRLINE_TOOL_SCHEMAS
  POLICY = AIRLINE_POLICY

  def _initial_data_json(self, seed: int, data_dir: str | None) -> str:
    return airline_data_json(seed, data_dir)
