"""JSON schemas of the 16 retail tools: tau-bench's names, arguments, types and enums."""

from __future__ import annotations

from typing import Any

from selfchallenge_jax.envs.base import function_schema
from selfchallenge_jax.envs.tau_common import COMMON_TOOL_SCHEMAS

_ORDER_ID = {"type": "string", "description": "The order id, such as '#W0000000' (mind the "
             "leading '#')."}
_USER_ID = {"type": "string", "description": "The user id, such as 'sara_doe_496'."}
_PAYMENT_ID = {"type": "string", "description": "A payment method id from the user's profile or "
               "order, such as 'gift_card_0000000' or 'credit_card_0000000'."}
_ITEM_LIST = {"type": "array", "items": {"type": "string"},
              "description": "Item ids, each such as '1008292230'; an id may repeat."}
_NEW_ITEM_LIST = {"type": "array", "items": {"type": "string"},
                  "description": "Replacement item ids, each such as '1008292230'; position i "
                  "replaces item_ids[i] and must be a variant of the same product."}
_ADDRESS = {
    "address1": {"type": "string", "description": "First address line, such as '123 Main St'."},
    "address2": {"type": "string", "description": "Second address line, such as 'Apt 1' or ''."},
    "city": {"type": "string", "description": "City, such as 'San Francisco'."},
    "state": {"type": "string", "description": "State, such as 'CA'."},
    "country": {"type": "string", "description": "Country, such as 'USA'."},
    "zip": {"type": "string", "description": "Zip code, such as '12345'."},
}
_CONFIRM = " Explain the details and get the user's explicit confirmation (yes) first."

_RETAIL_ONLY: list[dict[str, Any]] = [
    function_schema(
        "cancel_pending_order", "Cancel a pending order (processed or delivered orders cannot be "
        "cancelled). The status becomes 'cancelled' and every payment is refunded: at once to a "
        "gift card, otherwise within 5-7 business days. Returns the updated order." + _CONFIRM,
        {"order_id": _ORDER_ID,
         "reason": {"type": "string", "enum": ["no longer needed", "ordered by mistake"],
                    "description": "Either 'no longer needed' or 'ordered by mistake'."}}),
    function_schema(
        "exchange_delivered_order_items", "Exchange items of a delivered order for other "
        "variants of the same products. A delivered order can be returned or exchanged only "
        "once, so collect every item first." + _CONFIRM,
        {"order_id": _ORDER_ID, "item_ids": _ITEM_LIST, "new_item_ids": _NEW_ITEM_LIST,
         "payment_method_id": dict(_PAYMENT_ID, description=_PAYMENT_ID["description"]
                                   + " Pays or receives the price difference.")}),
    function_schema(
        "find_user_id_by_email", "Find a user's id from their email; returns an error if no user "
        "matches.",
        {"email": {"type": "string", "description": "The email, such as 'someone@example.com'."}}),
    function_schema(
        "find_user_id_by_name_zip", "Find a user's id from first name, last name and zip code. "
        "Try the email first; use this when the user cannot give or remember the email.",
        {"first_name": {"type": "string", "description": "First name, such as 'John'."},
         "last_name": {"type": "string", "description": "Last name, such as 'Doe'."},
         "zip": {"type": "string", "description": "Zip code, such as '12345'."}}),
    function_schema("get_order_details", "Get the status and details of an order.",
                    {"order_id": _ORDER_ID}),
    function_schema(
        "get_product_details", "Get a product's inventory: all its items with options, price "
        "and availability.",
        {"product_id": {"type": "string", "description": "The product id, such as '6086499569'. "
                        "Product ids and item ids are different things."}}),
    function_schema("get_user_details", "Get a user's profile: name, address, email, payment "
                    "methods and orders.", {"user_id": _USER_ID}),
    function_schema(
        "list_all_product_types", "List every product type's name and product id. Each product "
        "type has many items (variants) with their own item ids and options.", {}),
    function_schema(
        "modify_pending_order_address", "Change the shipping address of a pending order."
        + _CONFIRM, {"order_id": _ORDER_ID, **_ADDRESS}),
    function_schema(
        "modify_pending_order_items", "Swap items of a pending order for other variants of the "
        "same products. Can be done only once per order (it becomes 'pending (item modified)'), "
        "so collect every item first." + _CONFIRM,
        {"order_id": _ORDER_ID, "item_ids": _ITEM_LIST, "new_item_ids": _NEW_ITEM_LIST,
         "payment_method_id": dict(_PAYMENT_ID, description=_PAYMENT_ID["description"]
                                   + " Pays or receives the price difference.")}),
    function_schema(
        "modify_pending_order_payment", "Pay a pending order with a different payment method; "
        "the original one is refunded." + _CONFIRM,
        {"order_id": _ORDER_ID, "payment_method_id": _PAYMENT_ID}),
    function_schema(
        "modify_user_address", "Change the user's default address." + _CONFIRM,
        {"user_id": _USER_ID, **_ADDRESS}),
    function_schema(
        "return_delivered_order_items", "Request the return of items of a delivered order; the "
        "status becomes 'return requested' and the user gets an email on how to send them "
        "back." + _CONFIRM,
        {"order_id": _ORDER_ID, "item_ids": _ITEM_LIST,
         "payment_method_id": dict(_PAYMENT_ID, description=_PAYMENT_ID["description"]
                                   + " Receives the refund: the original method or a gift card.")}),
]

# Sorted by name, as tau-bench lists its tools.
RETAIL_TOOL_SCHEMAS: list[dict[str, Any]] = sorted(
    _RETAIL_ONLY + COMMON_TOOL_SCHEMAS, key=lambda schema: schema["function"]["name"])
