"""Seeded web-browsing benchmark tasks in the style of M3ToolEval's 34 (prices, staff details,
totals, discounted totals, head counts, reverse phone look-ups) on the generated site of the seed.

The scripted expert browses from "/" by clicking and scrolling and reads every fact it answers with
off its observations; the expected answer is computed from the site's records independently.
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable

from selfchallenge_jax.envs.benchmark_task import BenchmarkTask
from selfchallenge_jax.envs.calculation.answer_match import format_expected
from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.web_browsing.env import WebBrowsingEnv
from selfchallenge_jax.envs.web_browsing.navigation import Navigator
from selfchallenge_jax.envs.web_browsing.site_generator import Person, Site

PRICE_FORMAT = "Answer in the format of 'xx.xx' (e.g., 12.34).\n"
_CURRENT_PRICE = re.compile(r"\$(\d+\.\d\d)$")   # the last $ amount: the "Now at" price if any


def _read_price(nav: Navigator, url: str) -> float:
  nav.go_to(url)
  line = nav.show_line(lambda l: l.startswith("Price:"))
  return float(_CURRENT_PRICE.search(line).group(1))


def _read_field(nav: Navigator, url: str, field: str) -> str:
  nav.go_to(url)
  return nav.show_line(lambda l: l.startswith(f"{field}: ")).split(": ", 1)[1]


def _price(rng: random.Random, site: Site, nav: Navigator) -> tuple[str, str, str]:
  item = rng.choice(site.items)
  instruction = f"Find the current price of {item.name}.\n{PRICE_FORMAT}"
  return instruction, f"{item.price:.2f}", f"{_read_price(nav, item.url):.2f}"


_PERSON_FIELDS = {
    "email": ("Email", "Answer in the format of 'xxx@xxx.xxx'\n"),
    "phone number": ("Phone", "Answer in the same format as displayed in the webpage.\n"),
    "expertise": ("Expertise", "Answer in the same format as displayed in the webpage "
                               "(e.g., A/B).\n"),
}


def _person_detail(rng: random.Random, site: Site, nav: Navigator) -> tuple[str, str, str]:
  person = rng.choice(site.people)
  what = rng.choice(list(_PERSON_FIELDS) + ["department"])
  if what == "department":
    nav.go_to(person.url)
    heading = nav.show_line(lambda l: l.startswith(person.name))
    answer = heading.removeprefix(f"{person.name} of ").removesuffix(" Department")
    return (f"Find the department of {person.name}.\nAnswer in the format of 'xxx'\n",
            person.department, answer)
  field, fmt = _PERSON_FIELDS[what]
  expected = {"Email": person.email, "Phone": person.phone_number,
              "Expertise": person.expertise}[field]
  return f"Find the {what} of {person.name}.\n{fmt}", expected, _read_field(nav, person.url, field)


def _total(rng: random.Random, site: Site, nav: Navigator,
           discount: bool = False) -> tuple[str, str, str]:
  items = rng.sample(site.items, rng.randint(2, 4))
  prices = [_read_price(nav, item.url) for item in items]
  expression = " + ".join(f"{p:.2f}" for p in prices)
  if discount:
    expression = f"({expression}) * 0.9"
  value = nav.expert.value("calculator", expression=expression)
  names = ", ".join(item.name for item in items)
  if discount:
    instruction = (f"Find the total price of [{names}] after applying a 10% off discount on the "
                   f"total price.\n{PRICE_FORMAT}")
    expected = sum(item.price for item in items) * 0.9
  else:
    instruction = f"Find the total price of [{names}].\n{PRICE_FORMAT}"
    expected = sum(item.price for item in items)
  return instruction, f"{expected:.2f}", f"{value:.2f}"


def _head_count(rng: random.Random, site: Site, nav: Navigator) -> tuple[str, str, str]:
  department, url = rng.choice(sorted(site.departments.items()))
  nav.go_to(url)
  members = nav.read_all(lambda line: f"[Clickable '{url}/" in line)
  expected = sum(1 for p in site.people if p.department == department)
  instruction = (f"How many people are in the {department} Department?\n"
                 f"Answer in the format of 'xx' (e.g., 9).\n")
  return instruction, format_expected(expected), str(len(members))


def _phone_owner(rng: random.Random, site: Site, nav: Navigator) -> tuple[str, str, str]:
  person: Person = rng.choice(site.people)
  nav.go_to(person.url)
  heading = nav.show_line(lambda l: l.endswith(" Department"))
  nav.show_line(lambda l: l == f"Phone: {person.phone_number}")
  answer = heading.rsplit(" of ", 1)[0]
  return (f"Which person's phone number is {person.phone_number}?\n"
          f"Answer the person's name (e.g., John Smith).\n", person.name, answer)


_TEMPLATES: tuple[tuple[str, Callable[..., tuple[str, str, str]]], ...] = (
    ("price", _price), ("person_detail", _person_detail), ("total_price", _total),
    ("total_price_after_discount", lambda rng, site, nav: _total(rng, site, nav, discount=True)),
    ("head_count", _head_count), ("phone_owner", _phone_owner),
)

# Task i of a seed is kind i % len(TASK_KINDS).
TASK_KINDS: tuple[str, ...] = tuple(name for name, _ in _TEMPLATES)


def generate_benchmark_tasks(n: int, seed: int) -> list[BenchmarkTask]:
  tasks = []
  for i in range(n):
    name, template = _TEMPLATES[i % len(_TEMPLATES)]
    rng = random.Random(f"web_browsing/{seed}/{i}")
    env_kwargs: dict[str, Any] = {"seed": seed}
    env = WebBrowsingEnv(**env_kwargs)
    expert = ScriptedExpert(env)
    instruction, expected, answer = template(rng, env.site, Navigator(expert, lambda: env.browser))
    tasks.append(expert.finish(answer, expected, f"web_browsing/{name}/{seed}-{i}",
                               "web_browsing", env_kwargs, instruction))
  return tasks
