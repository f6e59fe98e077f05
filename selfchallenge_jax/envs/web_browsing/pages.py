"""Reading a site from M3ToolEval's web_pages.jsonl layout: one {"name": url, "content": text} a line."""

from __future__ import annotations

import json
import pathlib


def load_pages(path: str | pathlib.Path) -> dict[str, str]:
  """url -> content; raises FileNotFoundError / ValueError naming the file and line."""
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"web pages file not found: {path}")
  pages: dict[str, str] = {}
  for number, line in enumerate(path.read_text().splitlines(), start=1):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
    except json.JSONDecodeError as e:
      raise ValueError(f"{path}:{number}: not valid JSON: {e}") from None
    if (not isinstance(record, dict) or not isinstance(record.get("name"), str)
        or not isinstance(record.get("content"), str)):
      raise ValueError(f"{path}:{number}: expected {{\"name\": str, \"content\": str}}")
    if record["name"] in pages:
      raise ValueError(f"{path}:{number}: duplicate page {record['name']!r}")
    pages[record["name"]] = record["content"]
  if not pages:
    raise ValueError(f"{path}: no pages")
  return pages


def write_pages(pages: dict[str, str], path: str | pathlib.Path) -> None:
  """Writes pages in the same layout (e.g. to hand a generated site to M3ToolEval's code)."""
  with open(path, "w") as f:
    for name, content in pages.items():
      f.write(json.dumps({"name": name, "content": content}) + "\n")
