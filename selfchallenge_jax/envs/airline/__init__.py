"""Airline family: tau-bench's airline domain (env, database, tools, policy, benchmark tasks)."""
