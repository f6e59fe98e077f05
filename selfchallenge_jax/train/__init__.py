"""The executor training loop: rollouts -> sandboxed rewards -> GRPO / RFT updates -> checkpoints."""
