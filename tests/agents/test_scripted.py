"""Scripted expert conversations: they render as SFT demonstrations whose assistant turns, parsed
back the way the rollout engine parses samples and acted out in a fresh env, solve the task."""

import dataclasses
import types

import pytest

from chat_fixtures import make_chat
from selfchallenge_jax.agents.executor import make_task_env
from selfchallenge_jax.agents.scripted import (conversation_actions, expert_conversation,
                                               expert_demonstrations, play_expert,
                                               render_demonstration)
from selfchallenge_jax.envs.scoring import score_episode
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.tokenizer.tool_calls import ToolCall

FAMILIES = ["calculation", "web_browsing", "retail", "airline"]


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
  return make_chat(tmp_path_factory.mktemp("tok"))[1]


@pytest.fixture(scope="module")
def task_sets():
  return builtin_task_sets(2, seed=33)


def assistant_turns(chat, rendered):
  """Decoded text of each run of role-mask-1 tokens (one per assistant turn)."""
  turns, current = [], []
  for token, mask in zip(rendered.ids, rendered.role_mask):
    if mask:
      current.append(token)
    elif current:
      turns.append(current)
      current = []
  if current:
    turns.append(current)
  return [chat.tokenizer.decode(t[:-1] if t[-1] in chat.stop_ids else t) for t in turns]


def act_out(chat, task, texts):
  """Plays sampled-style assistant texts in a fresh env the way the rollout engine does."""
  env, _ = make_task_env(task)
  for text in texts:
    if env.done:
      break
    action = chat.parse_assistant(text)
    if isinstance(action, ToolCall):
      env.call_tool(action.name, action.arguments)
    else:
      env.respond(action)
  return types.SimpleNamespace(answer=env.answer, final_state=env.state(),
                               actions=list(env.actions), done=env.done)


@pytest.mark.parametrize("family", FAMILIES)
def test_expert_demonstrations_render_and_solve_when_acted_out(chat, task_sets, family):
  for task in task_sets[family]:
    demo = play_expert(task)
    assert demo.done and demo.steps_after_done == 0
    assert score_episode(task, demo) == 1.0
    messages = demo.messages
    assert [m["role"] for m in messages[:2]] == ["system", "user"]
    # Like the engine: the reply that ended the episode (answer, ###STOP###) is never shown.
    assert messages[-1]["role"] == "assistant"
    assert all("###STOP###" not in str(m.get("content")) for m in messages)
    roles = [m["role"] for m in messages[2:]]
    assert "ipython" in roles and all(r in ("assistant", "ipython", "user") for r in roles)
    assert conversation_actions(messages) == [
        {"name": s["name"], "arguments": s["arguments"]} for s in task.solution]

    rendered = render_demonstration(chat, demo)
    texts = assistant_turns(chat, rendered)
    assert len(texts) == len(task.solution)
    assert sum(rendered.role_mask) < len(rendered.ids)         # prompt and observations masked
    replayed = act_out(chat, task, texts)
    assert replayed.done and score_episode(task, replayed) == 1.0, task.task_id


def test_tau_conversation_has_user_replies(task_sets):
  messages = expert_conversation(task_sets["retail"][0])
  user_turns = [m["content"] for m in messages[2:] if m["role"] == "user"]
  assert any("email" in t.lower() for t in user_turns)              # the identity, once asked
  assert "Yes, please go ahead." in user_turns                      # the write's confirmation


@pytest.mark.parametrize("family", ["calculation", "retail"])
def test_a_broken_solution_is_caught(task_sets, family):
  task = task_sets[family][0]
  if family == "calculation":
    broken = dataclasses.replace(task, solution=task.solution[:-1] + (
        {"name": "respond", "arguments": {"content": "Answer: definitely wrong"}},))
  else:   # drop the write: the database never reaches the gold one
    writes = [i for i, s in enumerate(task.solution)
              if s["name"] not in ("respond",) and not s["name"].startswith(("get_", "find_"))]
    assert writes, task.solution
    broken = dataclasses.replace(task, solution=tuple(
        s for i, s in enumerate(task.solution) if i != writes[-1]))
  assert score_episode(broken, play_expert(broken)) == 0.0
  with pytest.raises(ValueError, match="does not solve"):
    expert_demonstrations([task, broken])
  assert [d.task_id for d in expert_demonstrations([task, broken], require_success=False)] == [
      task.task_id]


def test_a_task_without_solution_is_refused(task_sets):
  task = dataclasses.replace(task_sets["web_browsing"][0], solution=())
  with pytest.raises(ValueError, match="no scripted solution"):
    play_expert(task)
