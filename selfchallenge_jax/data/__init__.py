"""Input pipelines: task datasets -> shuffled, GRPO-grouped global batches, a host's rows (Grain)."""

from selfchallenge_jax.data.task_pipeline import TaskBatchIterator, TaskPipelineConfig, task_batches

__all__ = ["TaskBatchIterator", "TaskPipelineConfig", "task_batches"]
