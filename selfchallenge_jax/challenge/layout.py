"""The challenger's final-message layout: one Code-as-Task written between tags.

    <task>
    <instruction>Find the current price of Nordic Kettle.</instruction>
    <verifier>
    def verify(state, answer, messages):
      return "223.09" in answer
    </verifier>
    <solution>[{"name": "view", "arguments": {}}, {"name": "respond", "arguments": {"content": "Answer: 223.09"}}]</solution>
    <failure_case>[{"name": "respond", "arguments": {"content": "Answer: 0.00"}}]</failure_case>
    </task>

Tags rather than one JSON object because a verifier is multi-line Python: inside JSON it would need
escaped newlines and quotes, which small models get wrong far more often than a closing tag.
Action lists are JSON (the same {"name", "arguments"} actions as tasks/record.py). `format_task_text`
is the one writer of this layout (scripted demonstrations, tests); parse.py is its one reader.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

TASK, INSTRUCTION, VERIFIER = "task", "instruction", "verifier"
SOLUTION, FAILURE_CASE = "solution", "failure_case"
#: The order the tags must appear in inside <task>; failure_case repeats (>= 1).
FIELD_TAGS = (INSTRUCTION, VERIFIER, SOLUTION, FAILURE_CASE)
TASK_OPEN, TASK_CLOSE = f"<{TASK}>", f"</{TASK}>"


def _actions_json(actions: Sequence[dict[str, Any]]) -> str:
  return json.dumps([{"name": a["name"], "arguments": a.get("arguments", {})} for a in actions],
                    ensure_ascii=False)


def format_task_text(instruction: str, verifier: str, solution: Sequence[dict[str, Any]],
                     failure_cases: Sequence[Sequence[dict[str, Any]]]) -> str:
  """The final challenger message for one task, in exactly the layout parse.py accepts."""
  parts = [TASK_OPEN, f"<{INSTRUCTION}>{instruction.strip()}</{INSTRUCTION}>",
           f"<{VERIFIER}>\n{verifier.strip()}\n</{VERIFIER}>",
           f"<{SOLUTION}>{_actions_json(solution)}</{SOLUTION}>"]
  parts += [f"<{FAILURE_CASE}>{_actions_json(case)}</{FAILURE_CASE}>" for case in failure_cases]
  parts.append(TASK_CLOSE)
  return "\n".join(parts)
