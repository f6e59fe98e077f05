"""RetailEnv: tau-bench's retail domain (16 tools over users / orders / products).

    env = envs.make("retail", seed=0)                 # built-in generated store
    env = envs.make("retail", data_dir="tau_bench/envs/retail/data")   # tau-bench's own files
    first = env.reset(task=benchmark_task)            # scripted user follows the task
"""

from __future__ import annotations

from selfchallenge_jax.envs.retail import tools_delivered, tools_lookup, tools_pending
from selfchallenge_jax.envs.retail.data import retail_data_json
from selfchallenge_jax.envs.retail.policy import RETAIL_POLICY
from selfchallenge_jax.envs.retail.schemas import RETAIL_TOOL_SCHEMAS
from selfchallenge_jax.envs.tau_common import COMMON_TOOLS, TauEnvironment

RETAIL_TOOLS = {
    **COMMON_TOOLS,
    "find_user_id_by_email": tools_lookup.find_user_id_by_email,
    "find_user_id_by_name_zip": tools_lookup.find_user_id_by_name_zip,
    "get_user_details": tools_lookup.get_user_details,
    "get_order_details": tools_lookup.get_order_details,
    "get_product_details": tools_lookup.get_product_details,
    "list_all_product_types": tools_lookup.list_all_product_types,
    "cancel_pending_order": tools_pending.cancel_pending_order,
    "modify_pending_order_address": tools_pending.modify_pending_order_address,
    "modify_pending_order_items": tools_pending.modify_pending_order_items,
    "modify_pending_order_payment": tools_pending.modify_pending_order_payment,
    "modify_user_address": tools_pending.modify_user_address,
    "return_delivered_order_items": tools_delivered.return_delivered_order_items,
    "exchange_delivered_order_items": tools_delivered.exchange_delivered_order_items,
}


class RetailEnv(TauEnvironment):
  name = "retail"
  TOOLS = RETAIL_TOOLS
  TOOL_SCHEMAS = RETAIL_TOOL_SCHEMAS
  POLICY = RETAIL_POLICY

  def _initial_data_json(self, seed: int, data_dir: str | None) -> str:
    return retail_data_json(seed, data_dir)
