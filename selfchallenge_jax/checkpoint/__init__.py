"""Orbax train-state checkpoints and HF safetensors import/export."""
