"""The challenger phase: explore an environment, write a Code-as-Task, filter it in the sandbox.

    stats = run_challenge(PolicyBackend(engine), ["calculation"], 64, pool=pool, seed=0,
                          dataset_dir=workdir / "tasks" / "calc_r1", dataset_name="calc_r1")

prompts.py (the opening chat) -> challenger_env.py (the episode's environment) -> backends.py /
openai_backend.py (who writes) -> parse.py (layout.py's tagged text -> CodeAsTask) -> dedup.py
-> tasks/check.py -> tasks/dataset_writer.py, all driven by run.py. scripted.py writes good tasks
from the environments' generators (SFT demonstrations and test fixtures).
"""

from selfchallenge_jax.challenge.backends import (ChallengeRequest, ChallengerBackend,
                                                  ChallengerOutput, PolicyBackend, ScriptedBackend,
                                                  good_task_script)
from selfchallenge_jax.challenge.challenger_env import (FAMILIES, ChallengerEnv,
                                                        challenger_env_kwargs, make_challenger_env)
from selfchallenge_jax.challenge.dedup import Deduplicator, dedup_key
from selfchallenge_jax.challenge.layout import format_task_text
from selfchallenge_jax.challenge.openai_backend import OpenAIChallengerBackend
from selfchallenge_jax.challenge.parse import ParseError, parse_challenger_output
from selfchallenge_jax.challenge.prompts import challenger_messages
from selfchallenge_jax.challenge.run import ChallengeStats, run_challenge
from selfchallenge_jax.challenge.scripted import ScriptedChallenge, scripted_challenger_texts

__all__ = ["FAMILIES", "ChallengeRequest", "ChallengeStats", "ChallengerBackend", "ChallengerEnv",
           "ChallengerOutput", "Deduplicator", "OpenAIChallengerBackend", "ParseError",
           "PolicyBackend", "ScriptedBackend", "ScriptedChallenge", "challenger_env_kwargs",
           "challenger_messages", "dedup_key", "format_task_text", "good_task_script",
           "make_challenger_env", "parse_challenger_output", "run_challenge",
           "scripted_challenger_texts"]
