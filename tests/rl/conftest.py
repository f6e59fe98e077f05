"""A tiny Llama for the rl tests (tests/tiny_llama.py)."""

import pytest

from tiny_llama import tiny_llama


@pytest.fixture(scope="session")
def tiny():
  """(config, params): 1 layer, vocab 64, normal(0.2) weights (not near uniform), unit norms."""
  return tiny_llama(num_layers=1)
