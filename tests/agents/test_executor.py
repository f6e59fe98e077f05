"""executor_spec: the opening chat of every family, who sees the instruction, and prompt size."""

import pytest
import regex

from chat_fixtures import make_chat
from selfchallenge_jax.agents import executor
from selfchallenge_jax.agents.executor import executor_spec
from selfchallenge_jax.envs.simulated_user import ModelUser
from selfchallenge_jax.envs.tau_common import TauEnvironment
from selfchallenge_jax.evaluation.task_sets import builtin_task_sets
from selfchallenge_jax.tasks.record import CodeAsTask
from selfchallenge_jax.tokenizer.tiktoken_tokenizer import LLAMA3_PATTERN

# Prompt budgets in Llama 3 tokens (measured with the Llama 3.1 tokenizer: calculation 0.9-1.1k,
# web browsing ~0.8k, retail / airline ~4.2k, most of it the tool schemas and the policy). The
# calculation / web prompts leave >= 768 tokens of a 2048 context for the conversation; the tau
# families need an 8192 context. The test counts Llama 3 pre-tokenizer pieces of the rendered text,
# which tracked the real token count within 3% on these prompts, so no 128k vocabulary is needed.
LLAMA3_PROMPT_BUDGET = {"calculation": 1280, "web_browsing": 1280, "retail": 4608,
                        "airline": 4608}


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
  return make_chat(tmp_path_factory.mktemp("tok"))[1]


@pytest.fixture(scope="module")
def task_sets():
  return builtin_task_sets(3, seed=21)


def llama3_pieces(text: str) -> int:
  return len(regex.findall(LLAMA3_PATTERN, text))


@pytest.mark.parametrize("family", ["calculation", "web_browsing", "retail", "airline"])
def test_specs_render_and_fit_the_reported_context(chat, task_sets, family):
  for i, task in enumerate(task_sets[family]):
    spec = executor_spec(task, stream_id=i)
    assert spec.tag == task.task_id and spec.stream_id == i
    assert spec.tools == spec.env.tools and not spec.env.done and spec.env.actions == []
    system, user = spec.messages
    assert system["role"] == "system" and user["role"] == "user"
    assert system["content"].startswith(spec.env.system_prompt.strip()[:200])
    rendered = chat.render(spec.messages, tools=spec.tools, add_generation_prompt=True)
    assert rendered.role_mask == [0] * len(rendered.ids)     # nothing in a prompt is trained on
    assert rendered.ids[-len(chat.generation_prompt()):] == chat.generation_prompt()
    text = chat.tokenizer.decode(rendered.ids)
    for tool in spec.tools:
      assert f'"name": "{tool["function"]["name"]}"' in text
    assert llama3_pieces(text) <= LLAMA3_PROMPT_BUDGET[family], (task.task_id, llama3_pieces(text))


@pytest.mark.parametrize("family", ["calculation", "web_browsing"])
def test_answer_families_give_the_instruction_to_the_agent(task_sets, family):
  task = task_sets[family][0]
  spec = executor_spec(task, stream_id=0)
  assert spec.messages[1]["content"] == task.instruction
  assert "Answer: <value>" in spec.messages[0]["content"]
  assert spec.env.instruction == task.instruction


@pytest.mark.parametrize("family", ["retail", "airline"])
def test_tau_instruction_goes_to_the_simulated_user_only(task_sets, family):
  task = task_sets[family][0]
  spec = executor_spec(task, stream_id=0)
  assert isinstance(spec.env, TauEnvironment)
  system, user = spec.messages
  assert system["content"].startswith(spec.env.POLICY.strip()[:100])
  assert executor.CONVERSATION_INSTRUCTIONS in system["content"]
  # The agent reads the user's opening, which hides the identity facts until asked.
  assert user["content"] != task.instruction and user["content"].startswith("Hi!")
  hidden = "your email is " if family == "retail" else "your user id is "
  secret = task.instruction.lower().split(hidden)[1].split(" ")[0].rstrip(".")
  assert secret not in user["content"].lower()
  # The scripted user knows the task: the gold outcome ends the conversation, a question reveals.
  assert spec.env.user.instruction == task.instruction
  assert secret in spec.env.respond("What is your email or user id?").lower()


def test_user_factory_replaces_the_scripted_user(task_sets):
  task = task_sets["retail"][0]
  seen, conversations = [], []

  def chat_fn(conversation):
    conversations.append(conversation)
    return "Hello, I am the model-played user."

  def factory(t):
    seen.append(t.task_id)
    return ModelUser(chat_fn)

  spec = executor_spec(task, stream_id=3, tag="mine", user_factory=factory)
  assert seen == [task.task_id] and spec.tag == "mine"
  assert isinstance(spec.env.user, ModelUser)
  assert spec.messages[1]["content"] == "Hello, I am the model-played user."
  assert task.instruction in conversations[0][0]["content"]   # the env gave it the instruction


def test_code_as_task_specs():
  calc = CodeAsTask(task_id="cat-1", env="calculation", env_kwargs={"family": "message_decoder"},
                    instruction="Reverse the string 'abc'.", verifier="def verify(s, a, m): ...",
                    solution=({"name": "reverse_string", "arguments": {"string": "abc"}},),
                    failure_cases=())
  spec = executor_spec(calc, stream_id=0)
  assert spec.messages[1]["content"] == "Reverse the string 'abc'."
  assert spec.env.call_tool("reverse_string", {"string": "abc"}) == "cba"
  retail = CodeAsTask(task_id="cat-2", env="retail", env_kwargs={"seed": 0},
                      instruction="Your name is Ann Lee and your email is ann@x.com. You want to "
                                  "cancel order #W1.", verifier="def verify(s, a, m): ...",
                      solution=({"name": "respond", "arguments": {"content": "hi"}},),
                      failure_cases=())
  spec = executor_spec(retail, stream_id=0)
  assert spec.messages[1]["content"] == "Hi! I want to cancel order #W1."
  assert "ann@x.com" in spec.env.respond("Could you give me your email?")
