"""Evaluation: per-episode scoring, the unbiased pass@k estimator, evaluate() over benchmark task
sets and loaders for external task files. Import the modules directly."""
