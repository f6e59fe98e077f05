"""Retail family: tau-bench's retail domain (env, database, tools, policy, benchmark tasks)."""
