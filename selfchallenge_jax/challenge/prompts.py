"""The challenger's opening chat per environment family: explore with real tool calls, then write
ONE task in layout.py's tagged layout as the final message.

    messages = challenger_messages(env)        # [system, user]; tools go to the chat format
    chat.render(messages, tools=env.tools)

Kept short on purpose: CPU-sized models have 1-2k token contexts and the tool schemas (and, for
retail / airline, the policy) already take most of it. The layout is shown once, as a template,
with the verifier contract of tasks/record.py spelled out in one line; the family's role and
verifier rules come from its record (envs/<family>/spec.py).
"""

from __future__ import annotations

from selfchallenge_jax.challenge.challenger_env import ChallengerEnv
from selfchallenge_jax.envs import family as family_lib

_TEMPLATE = """<task>
<instruction>...</instruction>
<verifier>
def verify(state, answer, messages):
  return ...
</verifier>
<solution>[{"name": "<tool>", "arguments": {...}}, ..., {"name": "respond", "arguments": {"content": "..."}}]</solution>
<failure_case>[...plausible but wrong actions...]</failure_case>
<failure_case>[...]</failure_case>
<failure_case>[...]</failure_case>
</task>"""

_EXPLORE = ("First explore: call tools one per turn, replying with only the JSON call, to find real "
            "facts. Then write ONE new task as your final message, exactly in this layout:\n")

_CONTRACT = ("verify gets the environment's final `state`, the agent's final message `answer` "
             "and `messages`, its actions ({\"kind\": \"tool\", \"name\", \"arguments\", "
             "\"observation\"} or {\"kind\": \"respond\", \"content\"}); it returns True only if "
             "the task was solved. Standard library only. The solution must solve the task; "
             "every failure case must not.")

def system_prompt(family: str, policy: str = "", include_policy: bool = True) -> str:
  record = family_lib.get(family)
  text = record.challenger_role
  if record.conversational and include_policy and policy.strip():
    text += "\n\n" + policy.strip()
  return text


def user_prompt(family: str) -> str:
  return f"{_EXPLORE}{_TEMPLATE}\n{_CONTRACT} {family_lib.get(family).challenger_rules}"


def challenger_messages(env: ChallengerEnv, *, include_policy: bool = True) -> list[dict[str, str]]:
  """[system, user] opening a challenger episode on `env` (tools are passed separately)."""
  family = env.family
  return [{"role": "system",
           "content": system_prompt(family, env.system_prompt, include_policy)},
          {"role": "user", "content": user_prompt(family)}]
