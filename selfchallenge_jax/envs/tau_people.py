"""Synthetic customers for the built-in retail and airline databases: names, ids, emails, addresses.

Ids follow tau-bench's shapes ("mia_li_3668", "#W2611340", "credit_card_4421486") so agents
trained on the built-in data meet the same formats as on tau-bench's own files.
"""

from __future__ import annotations

import random
from typing import Any

FIRST_NAMES = [
    "Aarav", "Ahmed", "Amelia", "Anya", "Ava", "Chen", "Daiki", "Emma", "Ethan", "Evelyn",
    "Fatima", "Harper", "Isabella", "Ivan", "James", "Juan", "Lei", "Liam", "Lucas", "Mason",
    "Mei", "Mia", "Mohamed", "Noah", "Olivia", "Omar", "Raj", "Sofia", "Sophia", "Yara", "Yusuf",
    "Zoe", "Nadia", "Kenji", "Priya", "Diego", "Hana", "Leo", "Maya", "Tariq",
]
LAST_NAMES = [
    "Ahmed", "Anderson", "Brown", "Davis", "Garcia", "Gonzalez", "Hernandez", "Ito", "Jackson",
    "Johansson", "Johnson", "Khan", "Kim", "Kovacs", "Lee", "Li", "Lopez", "Martin", "Moore",
    "Muller", "Nguyen", "Patel", "Rossi", "Sanchez", "Santos", "Silva", "Smith", "Taylor",
    "Thomas", "Wilson", "Okafor", "Novak", "Haddad", "Costa", "Fischer",
]
STREETS = [
    "Main Street", "Elm Avenue", "Oak Street", "Pine Lane", "Cedar Street", "Maple Drive",
    "Willow Lane", "Sunset Drive", "Hillcrest Drive", "Lakeview Drive", "River Road",
    "Broadway", "Chestnut Street", "Spruce Street", "Hickory Lane", "Park Avenue",
]
# (city, state, first three zip digits)
CITIES = [
    ("New York", "NY", "100"), ("Los Angeles", "CA", "900"), ("Chicago", "IL", "606"),
    ("Houston", "TX", "770"), ("Phoenix", "AZ", "850"), ("Philadelphia", "PA", "191"),
    ("San Antonio", "TX", "782"), ("San Diego", "CA", "921"), ("Dallas", "TX", "752"),
    ("Austin", "TX", "787"), ("Jacksonville", "FL", "322"), ("Columbus", "OH", "432"),
    ("Charlotte", "NC", "282"), ("San Francisco", "CA", "941"), ("Seattle", "WA", "981"),
    ("Denver", "CO", "802"), ("Washington", "DC", "200"), ("Boston", "MA", "021"),
    ("Portland", "OR", "972"), ("Atlanta", "GA", "303"),
]


def person(rng: random.Random, taken: set[str]) -> tuple[str, str, str]:
  """(first, last, user_id) with an unused user id; first/last pairs repeat, ids never do."""
  while True:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    user_id = f"{first.lower()}_{last.lower()}_{rng.randint(1000, 9999)}"
    if user_id not in taken:
      taken.add(user_id)
      return first, last, user_id


def email(rng: random.Random, first: str, last: str) -> str:
  return f"{first.lower()}.{last.lower()}{rng.randint(1000, 9999)}@example.com"


def address(rng: random.Random, state_key: str = "state") -> dict[str, str]:
  """A US address; airline data names the state field "province", retail "state"."""
  city, state, zip_prefix = rng.choice(CITIES)
  return {
      "address1": f"{rng.randint(100, 999)} {rng.choice(STREETS)}",
      "address2": f"Suite {rng.randint(100, 999)}",
      "city": city,
      "country": "USA",
      state_key: state,
      "zip": f"{zip_prefix}{rng.randint(0, 99):02d}",
  }


def unique_number_id(rng: random.Random, prefix: str, digits: int, taken: set[str]) -> str:
  while True:
    value = f"{prefix}{rng.randint(10 ** (digits - 1), 10 ** digits - 1)}"
    if value not in taken:
      taken.add(value)
      return value


def credit_card(rng: random.Random, taken: set[str]) -> dict[str, Any]:
  pid = unique_number_id(rng, "credit_card_", 7, taken)
  return {"source": "credit_card", "brand": rng.choice(["visa", "mastercard"]),
          "last_four": f"{rng.randint(0, 9999):04d}", "id": pid}


def date_of_birth(rng: random.Random) -> str:
  return f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
