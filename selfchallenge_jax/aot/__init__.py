"""Ahead-of-time TPU checks without a TPU: compile the real programs for a slice's topology.

chips.py (chip peaks, topology names), roofline.py (expected FLOPs, roofline times),
tpu_config.py (config validation), programs.py (the update / sampler programs with their
shardings), check.py (compile and measure), report.py (text, markdown and JSON output).
"""
