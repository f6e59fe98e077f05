"""A text browser over a site of pages, shown `lines_per_view` lines at a time (M3ToolEval: 5).

Every output string is M3ToolEval's WebBrowser's, including its quirks, because agents and
challenger tasks read these strings: any existing page name can be clicked (not only links on the
current page), quotes are removed from the clicked url, going back restores the previous page at its
top, and the page count shown is `lines // lines_per_view + 1` whenever a page has more lines than one
view (so a 10-line page reports 3 pages).
"""

from __future__ import annotations

import re
from typing import Any

LINES_PER_VIEW = 5
RULE = "-" * 10
_LINK = re.compile(r"\[Clickable '([^']*)'\]")


def links(content: str) -> list[str]:
  """The urls a page links to, in order of appearance."""
  return _LINK.findall(content)


class Browser:
  def __init__(self, pages: dict[str, str], start_page: str = "/",
               lines_per_view: int = LINES_PER_VIEW) -> None:
    if start_page not in pages:
      raise ValueError(f"start page {start_page!r} is not among the {len(pages)} pages")
    if lines_per_view < 1:
      raise ValueError("lines_per_view must be positive")
    self.pages = pages
    self.lines_per_view = lines_per_view
    self.current = start_page
    self.lines = pages[start_page].split("\n")
    self.scroll_position = 0
    self.history: list[str] = []
    self.visited: list[str] = [start_page]

  def _open(self, name: str) -> str:
    self.history.append(self.current)
    self._show(name)
    if name not in self.visited:
      self.visited.append(name)
    return f"[Opened page: {name}]\n" + self.view()

  def _show(self, name: str) -> None:
    self.current = name
    self.lines = self.pages[name].split("\n")
    self.scroll_position = 0

  def click_url(self, url: str) -> str:
    url = url.replace("'", "")
    if url in self.pages:
      return self._open(url)
    return "[URL not found.]"

  def go_to_previous_page(self) -> str:
    if not self.history:
      return "[No previous page.]"
    self._show(self.history.pop())
    return f"[Opened page: {self.current}]\n" + self.view()

  def scroll_down(self) -> str:
    if self.scroll_position + self.lines_per_view < len(self.lines):
      self.scroll_position += self.lines_per_view
      return self.view()
    return "[Reached the bottom of the page.]\n"

  def scroll_up(self) -> str:
    if self.scroll_position > 0:
      self.scroll_position -= self.lines_per_view
      return self.view()
    return "[Reached the top of the page.]\n"

  def view(self) -> str:
    start, per_view, total = self.scroll_position, self.lines_per_view, len(self.lines)
    name = f"[Web Page Name: {self.current}]\n" if self.current else ""
    if total > per_view:
      page_id, page_count = start // per_view + 1, total // per_view + 1
    else:
      page_id, page_count = 1, 1
    shown = "\n".join(self.lines[start:start + per_view])
    return f"{RULE}\n{name}[Viewing page {page_id} of {page_count}]\n\n{shown}\n{RULE}"

  def state(self) -> dict[str, Any]:
    return {"current_url": self.current, "scroll_position": self.scroll_position,
            "history": list(self.history), "visited": list(self.visited)}
