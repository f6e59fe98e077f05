"""A seeded fake company site (products with prices, staff with contact details, blog, about) whose
facts are known, so generated questions have definite answers.

Layout (urls): "/" home; "/about" with leader pages "/about/team/<role>"; "/contact"; "/blog" with
posts; "/products" -> "/products/<category>" -> "/products/<category>/<item>"; "/team" ->
"/team/<department>" -> "/team/<department>/<person>". Pages below the top level link back up, so
every page is reachable from every other one by clicking. Listing pages run past one 5-line view,
so an agent has to scroll.
"""

from __future__ import annotations

import dataclasses
import random

from selfchallenge_jax.envs.web_browsing import site_vocabulary as vocab


@dataclasses.dataclass(frozen=True)
class Item:
  name: str
  category: str
  url: str
  price: float                      # the current price (after any discount)
  original_price: float | None      # the pre-discount price, or None


@dataclasses.dataclass(frozen=True)
class Person:
  name: str
  department: str
  url: str
  expertise: str
  email: str
  phone_number: str


@dataclasses.dataclass(frozen=True)
class Site:
  company: str
  pages: dict[str, str]
  items: tuple[Item, ...]
  people: tuple[Person, ...]
  departments: dict[str, str]       # department name -> listing url

  def item(self, name: str) -> Item:
    return next(i for i in self.items if i.name == name)


def slug(text: str) -> str:
  return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def _link(label: str, url: str) -> str:
  return f"{label} [Clickable '{url}']"


def _phone(rng: random.Random) -> str:
  return "".join(str(rng.randrange(10)) if c == "#" else c for c in rng.choice(vocab.PHONE_FORMATS))


def _products(rng: random.Random, theme: dict[str, tuple[str, ...]],
              pages: dict[str, str]) -> tuple[Item, ...]:
  items = []
  categories = rng.sample(theme["categories"], rng.randint(4, 5))
  for category in categories:
    cat_url = f"/products/{slug(category)}"
    listing = [f"{category}:"]
    for adjective in rng.sample(theme["adjectives"], rng.randint(4, 6)):
      name = f"{adjective} {category}"
      url = f"{cat_url}/{slug(adjective)}_{slug(category)}"
      price = round(rng.uniform(15, 300), 2)
      if rng.random() < 0.2:
        percent = rng.choice((10, 15, 20, 24, 25, 30))
        item = Item(name, category, url, round(price * (1 - percent / 100), 2), price)
        price_line = (f"Price: ${price:.2f} ({percent}% off!) -> Now at Price: ${item.price:.2f}")
      else:
        item = Item(name, category, url, price, None)
        price_line = f"Price: ${price:.2f}"
      pages[url] = "\n".join([
          f"Item: {name}",
          f"Description: {rng.choice(('High-quality', 'Hand-crafted', 'Best-selling'))} "
          f"{category.lower()} from our {rng.choice(('spring', 'autumn', 'classic'))} collection.",
          price_line,
          f"In stock: {rng.randint(0, 80)} units",
          _link(f"Back to {category}", cat_url)])
      items.append(item)
      listing.append("- " + _link(name, url))
    listing.append("- " + _link("Back to all products", "/products"))
    pages[cat_url] = "\n".join(listing)
  pages["/products"] = "\n".join(
      ["Our Products:"] + ["- " + _link(c, f"/products/{slug(c)}") for c in categories]
      + ["- " + _link("Home", "/")])
  return tuple(items)


def _staff(rng: random.Random, theme: dict[str, tuple[str, ...]], pages: dict[str, str]
           ) -> tuple[tuple[Person, ...], dict[str, str]]:
  names = [f"{f} {l}" for f in vocab.FIRST_NAMES for l in vocab.LAST_NAMES]
  departments = rng.sample(vocab.DEPARTMENTS, rng.randint(4, 5))
  people, dept_urls = [], {}
  for department in departments:
    dept_url = f"/team/{slug(department)}"
    dept_urls[department] = dept_url
    listing = [f"{department} Team:"]
    for _ in range(rng.randint(3, 6)):
      name = names.pop(rng.randrange(len(names)))   # pop: no two people share a name
      url = f"{dept_url}/{slug(name)}"
      expertise = "/".join(rng.sample(theme["categories"], 2))
      person = Person(name, department, url, expertise,
                      f"{slug(name).replace('_', '.')}@{rng.choice(vocab.EMAIL_DOMAINS)}",
                      _phone(rng))
      pages[url] = "\n".join([
          f"{name} of {department} Department", f"Expertise: {expertise}",
          f"Email: {person.email}", f"Phone: {person.phone_number}",
          _link(f"Back to {department} Team", dept_url)])
      people.append(person)
      listing.append("- " + _link(name, url))
    listing.append("- " + _link("Back to all teams", "/team"))
    pages[dept_url] = "\n".join(listing)
  pages["/team"] = "\n".join(
      ["Our Teams:"] + ["- " + _link(f"{d} Team", u) for d, u in dept_urls.items()]
      + ["- " + _link("Home", "/")])
  return tuple(people), dept_urls


def _company_pages(rng: random.Random, company: str, theme: dict[str, tuple[str, ...]],
                   pages: dict[str, str]) -> None:
  domain = slug(company).replace("_", "") + ".co"
  leaders = []
  for title in rng.sample(vocab.LEADER_TITLES, 3):
    name = f"{rng.choice(('Mr.', 'Ms.', 'Dr.'))} {rng.choice(vocab.LAST_NAMES)}"
    url = f"/about/team/{slug(title)}"
    pages[url] = "\n".join([
        f"{name} - {title}",
        f"{name} has led our {rng.choice(theme['categories']).lower()} work for "
        f"{rng.randint(3, 30)} years.",
        f"Email: {slug(title)}@{domain}", _link("Back to About", "/about")])
    leaders.append(f"- {title}: {_link(name, url)}")
  pages["/about"] = "\n".join(
      [f"About {company}",
       f"Our journey began {rng.randint(5, 120)} years ago in a small workshop.",
       _link("Meet Our Team", "/team"), _link("Explore Our Products", "/products")]
      + leaders + [f"Our mission is to bring the best {theme['categories'][0].lower()} to everyone.",
                   _link("Home", "/")])
  pages["/contact"] = "\n".join([
      f"Contact Us at {company}", "We're here to answer all your questions.",
      f"Email: contact@{domain}", f"Phone: {_phone(rng)}",
      f"Address: {rng.randint(1, 999)} {rng.choice(('Oak', 'Elm', 'Main', 'Harbor'))} Street",
      _link("Home", "/")])
  posts = []
  for title, text in rng.sample(vocab.BLOG_TOPICS, 3):
    category = rng.choice(theme["categories"])
    url = f"/blog/{slug(title)}"
    pages[url] = "\n".join([title, text.format(category=category.lower()),
                            f"Posted on 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                            _link("Back to Blog", "/blog")])
    posts.append("- " + _link(title, url))
  pages["/blog"] = "\n".join(["Our Blog", "News, tips and stories from our team."] + posts
                             + [_link("Home", "/")])
  pages["/"] = "\n".join([
      f"Welcome to {company}!", "Discover what we make and the people who make it.",
      "- " + _link("About Us", "/about"), "- " + _link("Our Products", "/products"),
      "- " + _link("Blog", "/blog"), "- " + _link("Contact Us", "/contact"),
      "- " + _link("Meet Our Team", "/team"), "Thank you for visiting!"])


def generate_site(seed: int) -> Site:
  rng = random.Random(f"web_site/{seed}")
  theme = rng.choice(vocab.THEMES)
  company = rng.choice(theme["company"])
  pages: dict[str, str] = {}
  _company_pages(rng, company, theme, pages)
  items = _products(rng, theme, pages)
  people, departments = _staff(rng, theme, pages)
  # Home first, as M3ToolEval's file lists it; the rest in generation order.
  ordered = {"/": pages.pop("/")} | pages
  return Site(company, ordered, items, people, departments)
