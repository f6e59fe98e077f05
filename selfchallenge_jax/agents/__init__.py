"""Executor agents: the task -> episode prompt (executor.py) and scripted expert conversations
(scripted.py). Import the modules directly."""
