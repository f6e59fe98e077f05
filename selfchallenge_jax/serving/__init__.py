"""An OpenAI-compatible chat-completions server over the rollout engine (continuous batching)."""
