"""Simulated users for the conversational families (retail, airline), tau-bench style.

A simulated user is given an instruction ("Your name is ... For #W123, return the ...") and talks
to the agent; it ends the conversation by including `STOP_MARKER` in a reply.

- `ScriptedUser`: deterministic, no model. Opens with the request, reveals the instruction's facts
  (email, name, zip, ids, payment method) when the agent asks for them, confirms when asked to,
  and stops when its goal is reached or after `max_turns` replies. For tests and the CPU default.
- `ModelUser`: any callable `conversation -> reply` (e.g. `user_endpoint.EndpointChat`, an
  OpenAI-compatible endpoint with retries) playing the user from tau-bench's user prompt.
"""

from __future__ import annotations

import abc
import re
from typing import Callable

STOP_MARKER = "###STOP###"

Conversation = list[dict[str, str]]
ChatFn = Callable[[Conversation], str]


class SimulatedUser(abc.ABC):
  """The user side of a conversation."""

  @abc.abstractmethod
  def reset(self, instruction: str) -> str:
    """Starts a conversation; returns the user's first message."""

  @abc.abstractmethod
  def step(self, agent_message: str) -> str:
    """Returns the user's reply to the agent's message (contains STOP_MARKER to end)."""


# ---- scripted ---------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_USER_ID = re.compile(r"\b[a-z]+_[a-z]+_\d+\b")
_ORDER_ID = re.compile(r"#W\d+")
_RESERVATION_ID = re.compile(r"\breservation(?: id)?\s+([A-Z0-9]{6})\b")
_ZIP = re.compile(r"(?<![#\w])\d{5}(?!\d)")
_PAYMENT = re.compile(r"\b(?:paypal|credit_card|gift_card|certificate)_\d+\b")
_NAME = re.compile(r"\b(?:name is|You are)\s+([A-Z][a-z]+)\s+([A-Z][a-z]+)")

# Question keyword -> fact key, in the order facts are offered.
_ASKS = (
    ("email", "email"), ("first name", "name"), ("last name", "name"), ("name", "name"),
    ("zip", "zip"), ("postal", "zip"), ("user id", "user_id"), ("order id", "order_id"),
    ("order number", "order_id"), ("which order", "order_id"), ("reservation", "reservation_id"),
    ("payment", "payment"), ("refund", "payment"), ("pay ", "payment"),
)
_FACT_TEXT = {
    "email": "My email is {}.", "name": "My name is {}.", "zip": "My zip code is {}.",
    "user_id": "My user id is {}.", "order_id": "The order id is {}.",
    "reservation_id": "The reservation id is {}.", "payment": "Please use {}.",
}
_IDENTITY_KEYS = ("email", "name", "zip", "user_id")
_CONFIRM = ("confirm", "yes/no", "(yes", "proceed", "shall i", "should i", "would you like me",
            "do you want me", "go ahead", "is that correct", "is this correct")


def extract_facts(instruction: str) -> dict[str, str]:
  """The identifying facts an instruction mentions (only those present)."""
  facts: dict[str, str] = {}
  patterns = (("email", _EMAIL), ("user_id", _USER_ID), ("order_id", _ORDER_ID),
              ("payment", _PAYMENT))
  for key, pattern in patterns:
    if m := pattern.search(instruction):
      facts[key] = m.group(0)
  if m := _RESERVATION_ID.search(instruction):
    facts["reservation_id"] = m.group(1)
  if m := _NAME.search(instruction):
    facts["name"] = f"{m.group(1)} {m.group(2)}"
  if m := _ZIP.search(instruction):
    facts["zip"] = m.group(0)
  return facts


def _first_person(sentence: str) -> str:
  # The instruction addresses the user ("You want to ..."); the user speaks in the first person.
  for pattern, repl in ((r"\bYou are\b", "I am"), (r"\byou are\b", "I am"), (r"\bYour\b", "My"),
                        (r"\byour\b", "my"), (r"\bYou\b", "I"), (r"\byou\b", "me")):
    sentence = re.sub(pattern, repl, sentence)
  return sentence


def opening_request(instruction: str, facts: dict[str, str]) -> str:
  """The instruction minus the sentences that only identify the user, in the first person."""
  sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", instruction) if s.strip()]
  identity = [facts[k] for k in ("email", "name", "zip", "user_id") if k in facts]
  request = [s for s in sentences if not any(value in s for value in identity)]
  return _first_person(" ".join(request)) if request else "I need some help."


class ScriptedUser(SimulatedUser):
  """A deterministic user following an instruction without a model.

  goal: called with the agent's messages so far after each of them; True ends the conversation.
  facts: overrides/extends what `extract_facts` finds in the instruction.
  """

  def __init__(self, instruction: str = "", goal: Callable[[list[str]], bool] | None = None,
               max_turns: int = 30, facts: dict[str, str] | None = None) -> None:
    self.goal = goal
    self.max_turns = max_turns
    self._extra_facts = dict(facts or {})
    self.reset(instruction)

  def reset(self, instruction: str) -> str:
    self.instruction = instruction
    self.facts = {**extract_facts(instruction), **self._extra_facts}
    self.request = opening_request(instruction, self.facts)
    self.agent_messages: list[str] = []
    self.turns = 0
    return f"Hi! {self.request}" if instruction else "Hi! I need some help."

  def step(self, agent_message: str) -> str:
    self.agent_messages.append(agent_message)
    self.turns += 1
    if self.goal is not None and self.goal(self.agent_messages):
      return f"Thank you, that is everything I needed. {STOP_MARKER}"
    if self.turns >= self.max_turns:
      return f"I have to go now. {STOP_MARKER}"
    text = agent_message.lower()
    identity = self._answers(text, _IDENTITY_KEYS)
    if identity:
      return identity
    # A confirmation request also names ids and payment methods; it wants a yes, not facts.
    if any(phrase in text for phrase in _CONFIRM):
      return "Yes, please go ahead."
    details = self._answers(text, None)
    if details:
      return details
    if "anything else" in text or "help you with" in text:
      return f"Yes: {self.request}" if self.goal is not None else f"No, thanks. {STOP_MARKER}"
    return self.request

  def _answers(self, text: str, keys: tuple[str, ...] | None) -> str:
    answers: list[str] = []
    for keyword, key in _ASKS:
      if keys is not None and key not in keys:
        continue
      fact = _FACT_TEXT[key].format(self.facts[key]) if key in self.facts else None
      if keyword in text and fact and fact not in answers:
        answers.append(fact)
    return " ".join(answers)


# ---- model-backed -----------------------------------------------------------------------------
# tau-bench's user-simulator prompt (its LLMUserSimulationEnv), so that a model-played user
# behaves as in the benchmark's own runs; the stop token is tau-bench's too.
USER_SYSTEM_PROMPT = """You are a user interacting with an agent.

Instruction: {instruction}
Rules:
- Just generate one line at a time to simulate the user's message.
- Do not give away all the instruction at once. Only provide the information that is necessary for the current step.
- Do not hallucinate information that is not provided in the instruction. For example, if the agent asks for the order id but it is not mentioned in the instruction, do not make up an order id, just say you do not remember or have it.
- If the instruction goal is satisified, generate '{stop}' as a standalone message without anything else to end the conversation.
- Do not repeat the exact instruction in the conversation. Instead, use your own words to convey the same information.
- Try to make the conversation as natural as possible, and stick to the personalities in the instruction."""


class ModelUser(SimulatedUser):
  """A user played by a chat model: `chat_fn` maps the user's conversation to its next message.

  The conversation is from the user-model's point of view: the system prompt, then the agent's
  messages as "user" turns and the simulated user's own messages as "assistant" turns.
  """

  def __init__(self, chat_fn: ChatFn, system_template: str = USER_SYSTEM_PROMPT,
               max_turns: int = 30) -> None:
    self.chat_fn = chat_fn
    self.system_template = system_template
    self.max_turns = max_turns
    self.conversation: Conversation = []
    self.turns = 0

  def reset(self, instruction: str) -> str:
    system = self.system_template.format(instruction=instruction, stop=STOP_MARKER)
    self.conversation = [{"role": "system", "content": system},
                         {"role": "user", "content": "Hi! How can I help you today?"}]
    self.turns = 0
    return self._reply()

  def step(self, agent_message: str) -> str:
    self.conversation.append({"role": "user", "content": agent_message})
    self.turns += 1
    if self.turns >= self.max_turns:
      return f"I have to go now. {STOP_MARKER}"
    return self._reply()

  def _reply(self) -> str:
    reply = str(self.chat_fn([dict(m) for m in self.conversation]))
    self.conversation.append({"role": "assistant", "content": reply})
    return reply


def as_user(user: SimulatedUser | ChatFn) -> SimulatedUser:
  """Accepts a SimulatedUser, or a bare chat callable (wrapped in a ModelUser)."""
  if isinstance(user, SimulatedUser):
    return user
  if callable(user):
    return ModelUser(user)
  raise TypeError(f"user must be a SimulatedUser or a callable, got {type(user).__name__}")
