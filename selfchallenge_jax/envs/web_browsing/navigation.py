"""How the scripted expert gets around a site: shortest click paths and scrolling to a line."""

from __future__ import annotations

import collections
from typing import Callable

from selfchallenge_jax.envs.calculation.benchmarks.expert import ScriptedExpert
from selfchallenge_jax.envs.web_browsing.browser import Browser, links


def click_path(pages: dict[str, str], start: str, target: str) -> list[str]:
  """The urls to click, in order, to get from `start` to `target` by following links (BFS)."""
  parents: dict[str, str | None] = {start: None}
  queue = collections.deque([start])
  while queue:
    url = queue.popleft()
    if url == target:
      path = []
      while parents[url] is not None:
        path.append(url)
        url = parents[url]
      return path[::-1]
    for nxt in links(pages.get(url, "")):
      if nxt in pages and nxt not in parents:
        parents[nxt] = url
        queue.append(nxt)
  raise ValueError(f"no link path from {start!r} to {target!r}")


class Navigator:
  """Drives a ScriptedExpert through a Browser the way a careful reader would: it looks at the page
  first, scrolls until a link or fact is on screen before using it, reads facts off the screen, and
  goes back when that is as short as clicking onward."""

  def __init__(self, expert: ScriptedExpert, browser: Callable[[], Browser]) -> None:
    self.expert = expert
    self._browser = browser   # a getter: the environment may replace its browser on reset
    self.screen: str | None = None   # the last rendered view the expert saw

  @property
  def browser(self) -> Browser:
    return self._browser()

  def act(self, name: str, **arguments: str) -> str:
    """A browsing call; remembers the view it shows (scrolling past either end shows none)."""
    observation = self.expert.call(name, **arguments)
    if not observation.startswith("[Reached"):
      self.screen = observation
    return observation

  def go_to(self, target: str) -> None:
    b = self.browser
    if b.current == target:
      return
    path = click_path(b.pages, b.current, target)
    if b.history:
      back = b.history[-1]
      via_back = [] if back == target else click_path(b.pages, back, target)
      if len(via_back) + 1 <= len(path):
        self.act("go_to_previous_page")
        path = via_back
    for url in path:
      self.show_line(lambda line, url=url: f"[Clickable '{url}']" in line)
      self.act("click_url", url=url)

  def show_line(self, wanted: Callable[[str], bool]) -> str:
    """Scrolls until a line satisfying `wanted` is on screen; returns that line as observed."""
    if self.screen is None:
      self.act("view")
    b = self.browser
    index = next((i for i, line in enumerate(b.lines) if wanted(line)), None)
    if index is None:
      raise ValueError(f"no such line on {b.current}")
    view_start = index - index % b.lines_per_view
    while b.scroll_position < view_start:
      self.act("scroll_down")
    while b.scroll_position > view_start:
      self.act("scroll_up")
    return next(line for line in self.screen.split("\n") if wanted(line))

  def read_all(self, wanted: Callable[[str], bool]) -> list[str]:
    """Scrolls from the current view to the bottom, collecting the lines on screen that match."""
    if self.screen is None:
      self.act("view")
    found = [line for line in self.screen.split("\n") if wanted(line)]
    while not self.act("scroll_down").startswith("[Reached"):
      found += [line for line in self.screen.split("\n") if wanted(line)]
    return found
