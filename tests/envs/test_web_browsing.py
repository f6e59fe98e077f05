"""Web browsing environment: M3ToolEval's browser output strings, loading web_pages.jsonl, bad input,
state, and the generated site."""

import json

import pytest

from selfchallenge_jax import envs
from selfchallenge_jax.envs.web_browsing.browser import links
from selfchallenge_jax.envs.web_browsing.site_generator import generate_site

RULE = "-" * 10
HOME = "\n".join(["Welcome to Test Co.!", "We make things.", "- About Us [Clickable '/about']",
                  "- Team [Clickable '/team']", "line 5", "line 6", "line 7"])
TEAM = "\n".join(f"member {i}" for i in range(1, 11))   # 10 lines
ABOUT = "About Test Co.\nEmail: hello@test.co"


@pytest.fixture
def pages_file(tmp_path):
  path = tmp_path / "web_pages.jsonl"
  path.write_text("".join(json.dumps({"name": n, "content": c}) + "\n"
                          for n, c in [("/", HOME), ("/about", ABOUT), ("/team", TEAM),
                                       ("/hidden", "not linked from anywhere")]))
  return path


@pytest.fixture
def env(pages_file):
  return envs.make("web_browsing", pages_path=str(pages_file))


def call(env, name, **arguments):
  return env.call_tool(name, arguments)


def view_text(name, page_id, pages, lines):
  return (f"{RULE}\n[Web Page Name: {name}]\n[Viewing page {page_id} of {pages}]\n\n"
          + "\n".join(lines) + f"\n{RULE}")


def test_view_and_scrolling(env):
  home = HOME.split("\n")
  assert call(env, "view") == view_text("/", 1, 2, home[:5])
  assert call(env, "scroll_up") == "[Reached the top of the page.]\n"
  assert call(env, "scroll_down") == view_text("/", 2, 2, home[5:])
  assert call(env, "scroll_down") == "[Reached the bottom of the page.]\n"
  assert call(env, "scroll_up") == view_text("/", 1, 2, home[:5])


def test_click_and_go_back(env):
  about = call(env, "click_url", url="/about")
  assert about == "[Opened page: /about]\n" + view_text("/about", 1, 1, ABOUT.split("\n"))
  assert call(env, "click_url", url="'/team'").startswith("[Opened page: /team]\n")  # quotes go
  assert call(env, "click_url", url="/missing") == "[URL not found.]"
  call(env, "scroll_down")
  # Back restores the previous page at its top.
  assert call(env, "go_to_previous_page") == "[Opened page: /about]\n" + view_text(
      "/about", 1, 1, ABOUT.split("\n"))
  assert call(env, "go_to_previous_page").startswith("[Opened page: /]\n")
  assert call(env, "go_to_previous_page") == "[No previous page.]"


def test_m3tooleval_quirks_are_kept(env):
  # Any existing page can be clicked, linked from the current page or not.
  assert call(env, "click_url", url="/hidden").startswith("[Opened page: /hidden]")
  # A 10-line page reports "of 3" (lines // 5 + 1), as M3ToolEval's browser does.
  out = call(env, "click_url", url="/team")
  assert "[Viewing page 1 of 3]" in out
  assert call(env, "scroll_down") == view_text("/team", 2, 3, [f"member {i}" for i in range(6, 11)])
  assert call(env, "scroll_down") == "[Reached the bottom of the page.]\n"


def test_state_tracks_url_history_and_visits(env):
  call(env, "click_url", url="/about")
  call(env, "click_url", url="/team")
  call(env, "scroll_down")
  call(env, "go_to_previous_page")
  state = json.loads(json.dumps(env.state()))
  assert state["current_url"] == "/about" and state["scroll_position"] == 0
  assert state["history"] == ["/"]
  assert state["visited"] == ["/", "/about", "/team"]
  assert state["num_pages"] == 4 and len(state["tool_calls"]) == 4
  env.respond("Answer: hello@test.co")
  assert env.state()["answer"] == "Answer: hello@test.co" and env.state()["done"]
  env.reset()
  assert env.state()["current_url"] == "/" and env.state()["visited"] == ["/"]
  assert env.state()["tool_calls"] == [] and env.state()["answer"] is None


def test_calculator_and_bad_calls(env):
  assert call(env, "calculator", expression="2 + (3 * 4)") == "14"
  out = call(env, "calculator", expression="__import__('os').system('id')")
  assert out.startswith("Error: Failed to evaluate expression: ")
  assert call(env, "open_tab").startswith("Error: unknown tool 'open_tab'")
  assert "missing required argument(s): url" in call(env, "click_url")
  assert "must be of type string" in env.call_tool("click_url", {"url": 5})
  assert "unknown argument(s): lines" in env.call_tool("scroll_down", {"lines": 3})
  assert env.state()["current_url"] == "/"   # no bad call moved the browser


def test_tools_match_m3tooleval_names(env):
  assert [t["function"]["name"] for t in env.tools] == [
      "click_url", "go_to_previous_page", "scroll_down", "scroll_up", "view", "calculator"]


@pytest.mark.parametrize("content,error,fragment", [
    (None, FileNotFoundError, "not found"),
    ('{"name": "/", "content": "x"}\n{broken\n', ValueError, ":2: not valid JSON"),
    ('{"name": "/"}\n', ValueError, "expected"),
    ('{"name": "/", "content": "a"}\n{"name": "/", "content": "b"}\n', ValueError, "duplicate"),
    ('{"name": "/home", "content": "x"}\n', ValueError, "start page"),
    ("\n", ValueError, "no pages"),
])
def test_bad_pages_file_fails_at_make_time(tmp_path, content, error, fragment):
  path = tmp_path / "pages.jsonl"
  if content is not None:
    path.write_text(content)
  with pytest.raises(error, match=fragment):
    envs.make("web_browsing", pages_path=str(path))


def test_lines_per_view_is_configurable(pages_file):
  env = envs.make("web_browsing", pages_path=str(pages_file), lines_per_view=3)
  assert call(env, "view") == view_text("/", 1, 3, HOME.split("\n")[:3])


# ---- generated site -------------------------------------------------------------------------
def test_generated_site_is_deterministic_and_seed_dependent():
  assert generate_site(4) == generate_site(4)
  assert generate_site(4).pages != generate_site(5).pages
  a, b = envs.make("web_browsing", seed=4), envs.make("web_browsing", seed=4)
  assert call(a, "view") == call(b, "view")
  a.reset(seed=5)
  assert a.browser.pages == generate_site(5).pages


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_generated_site_is_connected_and_holds_its_facts(seed):
  site = generate_site(seed)
  assert 40 <= len(site.pages) <= 90
  for content in site.pages.values():
    assert all(url in site.pages for url in links(content))   # no dead links
  reached, frontier = {"/"}, ["/"]
  while frontier:
    for url in links(site.pages[frontier.pop()]):
      if url not in reached:
        reached.add(url)
        frontier.append(url)
  assert reached == set(site.pages)
  for item in site.items:
    assert f"${item.price:.2f}" in site.pages[item.url]
  for person in site.people:
    page = site.pages[person.url]
    assert person.email in page and person.phone_number in page and person.expertise in page
  assert len({p.name for p in site.people}) == len(site.people)
  assert len({i.name for i in site.items}) == len(site.items)
  # Listing pages need scrolling: at least one runs past a 5-line view.
  assert any(len(site.pages[url].split("\n")) > 5 for url in site.departments.values())
