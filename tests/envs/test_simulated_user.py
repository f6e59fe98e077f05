"""Simulated users: scripted (facts, confirmation, stop) and model-backed (any chat callable)."""

import http.server
import json
import threading

from selfchallenge_jax import envs
from selfchallenge_jax.envs.simulated_user import (STOP_MARKER, ModelUser, ScriptedUser,
                                                   extract_facts)
from selfchallenge_jax.envs.user_endpoint import EndpointChat

INSTRUCTION = ("Your name is Olivia Nguyen and your email is olivia4794@example.com. "
               "For #W112, return the Skateboard via paypal_77.")


def test_extract_facts():
  assert extract_facts(INSTRUCTION) == {"email": "olivia4794@example.com", "order_id": "#W112",
                                        "payment": "paypal_77", "name": "Olivia Nguyen"}
  facts = extract_facts("Your user id is mia_li_3668. Cancel reservation ABC123, zip 78701.")
  assert facts["user_id"] == "mia_li_3668" and facts["reservation_id"] == "ABC123"
  assert facts["zip"] == "78701"


def test_scripted_user_reveals_facts_only_when_asked():
  user = ScriptedUser(INSTRUCTION)
  first = user.reset(INSTRUCTION)
  assert "#W112" in first and "olivia4794" not in first and "Olivia" not in first
  assert user.step("Could you give me your email?") == "My email is olivia4794@example.com."
  assert user.step("What is your name?") == "My name is Olivia Nguyen."
  assert user.step("I will return the Skateboard, refund to paypal_77. Do you confirm (yes/no)?") == \
      "Yes, please go ahead."
  assert user.step("Which payment method should receive the refund?") == "Please use paypal_77."


def test_scripted_user_stops_on_goal_and_after_max_turns():
  said = []
  user = ScriptedUser(INSTRUCTION, goal=lambda messages: said.extend(messages) or "done" in messages[-1])
  assert STOP_MARKER not in user.step("working on it")
  assert STOP_MARKER in user.step("all done")
  patient = ScriptedUser(INSTRUCTION, max_turns=3)
  replies = [patient.step("hmm") for _ in range(3)]
  assert [STOP_MARKER in r for r in replies] == [False, False, True]


def test_stop_marker_ends_the_episode():
  env = envs.make("retail", seed=0, user=ScriptedUser(INSTRUCTION, max_turns=2))
  assert not env.done
  env.respond("hello")
  assert not env.done
  assert STOP_MARKER in env.respond("hello again") and env.done
  assert env.respond("still there?") == "Error: the episode is over."


def test_model_user_sees_the_conversation_from_its_side():
  seen = []

  def chat(conversation):
    seen.append(conversation)
    return STOP_MARKER if len(conversation) > 4 else f"reply {len(conversation)}"

  env = envs.make("airline", seed=0, user=chat, instruction="Your user id is a_b_1. Book a flight.")
  assert env.reset() == "reply 2"
  assert env.respond("How can I help?") == "reply 4"
  assert env.respond("Done?") == STOP_MARKER and env.done
  system, greeting, first_reply, agent = seen[-2]  # the call that answered "How can I help?"
  assert system["role"] == "system" and "Book a flight." in system["content"]
  assert STOP_MARKER in system["content"]
  assert (greeting["role"], first_reply, agent) == (
      "user", {"role": "assistant", "content": "reply 2"}, {"role": "user", "content": "How can I help?"})


def test_model_user_wrapper_and_turn_limit():
  user = ModelUser(lambda conversation: "ok", max_turns=2)
  user.reset("x")
  assert user.step("a") == "ok" and STOP_MARKER in user.step("b")
