"""selfchallenge_jax: Self-Challenging tool-using Llama agents, trained with GRPO in JAX."""
