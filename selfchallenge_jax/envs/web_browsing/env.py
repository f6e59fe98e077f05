"""The Web Browsing environment: M3ToolEval's web_browsing tools over a site of pages.

    env = envs.make("web_browsing")                        # the generated site for seed 0
    env = envs.make("web_browsing", seed=7)                # another generated site
    env = envs.make("web_browsing", pages_path="web_pages.jsonl")   # M3ToolEval's site (or any)
    env.reset(instruction="Find the email of Allison Hill.")
    env.call_tool("view", {}); env.call_tool("click_url", {"url": "/team"})
    env.respond("Answer: allison.hill@taylor.net")

Tools: click_url(url), go_to_previous_page(), scroll_down(), scroll_up(), view(), and calculator
(the calculation family's safe evaluator). Observations are M3ToolEval's strings (see browser.py).
The browser starts on `start_page` ("/"), so the agent's first call is usually view().
A missing or malformed `pages_path` fails at construction (envs.make time).
"""

from __future__ import annotations

from typing import Any, Callable

from selfchallenge_jax.envs.base import Environment, function_schema
from selfchallenge_jax.envs.calculation.env import ANSWER_FORMAT_PROMPT
from selfchallenge_jax.envs.calculation.trade_calculator import CALCULATOR_TOOL
from selfchallenge_jax.envs.web_browsing.browser import LINES_PER_VIEW, Browser
from selfchallenge_jax.envs.web_browsing.pages import load_pages
from selfchallenge_jax.envs.web_browsing.site_generator import Site, generate_site

_TOOL_SCHEMAS = [
    function_schema(
        "click_url",
        "Clicks on a URL. A clickable URL looks like [Clickable '<url_argument>'] in the webpage. "
        "Returns the rendered content of the webpage after clicking the URL showing on the current "
        "rendered page. Signature: click_url(url: str) -> str",
        {"url": {"type": "string"}}),
    function_schema(
        "go_to_previous_page",
        "Goes back to the previous page. It has no arguments. After going back to the previous "
        "page, return the rendered content of the webpage. Signature: go_to_previous_page() -> str",
        {}),
    function_schema(
        "scroll_down", "Scrolls down the view. It has no arguments. Returns the rendered content of "
        "the webpage after scrolling down. Signature: scroll_down() -> str", {}),
    function_schema(
        "scroll_up", "Scrolls up the view. It has no arguments. Returns the rendered content of the "
        "webpage after scrolling up. Signature: scroll_up() -> str", {}),
    function_schema(
        "view", "Return the current view in string format of the rendered webpage. It has no "
        "arguments. You should call this when you want to see the rendered content of the current "
        "webpage. Signature: view() -> str", {}),
    CALCULATOR_TOOL.schema,
]


class WebBrowsingEnv(Environment):
  name = "web_browsing"

  def __init__(self, seed: int = 0, pages_path: str | None = None, start_page: str = "/",
               lines_per_view: int = LINES_PER_VIEW, instruction: str = "") -> None:
    super().__init__()
    self.pages_path = None if pages_path is None else str(pages_path)
    # Read now so a bad file fails at make time, not at the agent's first click.
    self._loaded_pages = None if pages_path is None else load_pages(pages_path)
    self.start_page = start_page
    self.lines_per_view = lines_per_view
    self.seed = seed
    self.instruction = instruction
    self.site: Site | None = None
    self.reset(seed=seed, instruction=instruction)

  def reset(self, seed: int | None = None, instruction: str | None = None, **kwargs: Any) -> str:
    if kwargs:
      raise TypeError(f"unexpected reset arguments: {', '.join(kwargs)}")
    if seed is not None:
      self.seed = seed
    if instruction is not None:
      self.instruction = instruction
    self.done, self.answer, self.actions = False, None, []
    if self._loaded_pages is not None:
      pages = self._loaded_pages
    else:
      if self.site is None or seed is not None:
        self.site = generate_site(self.seed)
      pages = self.site.pages
    self.browser = Browser(pages, self.start_page, self.lines_per_view)
    return self.instruction

  @property
  def tools(self) -> list[dict[str, Any]]:
    return list(_TOOL_SCHEMAS)

  @property
  def system_prompt(self) -> str:
    return ANSWER_FORMAT_PROMPT

  def _tool_functions(self) -> dict[str, Callable[..., Any]]:
    b = self.browser
    return {"click_url": b.click_url, "go_to_previous_page": b.go_to_previous_page,
            "scroll_down": b.scroll_down, "scroll_up": b.scroll_up, "view": b.view,
            "calculator": CALCULATOR_TOOL.function}

  def state(self) -> dict[str, Any]:
    return {
        "env": self.name,
        "seed": self.seed,
        "pages_path": self.pages_path,
        "num_pages": len(self.browser.pages),
        "instruction": self.instruction,
        **self.browser.state(),
        "tool_calls": [{"name": a["name"], "arguments": a["arguments"],
                        "observation": a["observation"]}
                       for a in self.actions if a["kind"] == "tool"],
        "answer": self.answer,
        "done": self.done,
    }
