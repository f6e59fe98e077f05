"""Input pipelines: task datasets -> host-sharded, shuffled, GRPO-grouped batches (Grain)."""

from selfchallenge_jax.data.task_pipeline import (RepeatEachMapDataset, TaskBatchIterator,
                                                  TaskPipelineConfig, host_indices, task_batches)

__all__ = ["RepeatEachMapDataset", "TaskBatchIterator", "TaskPipelineConfig", "host_indices",
           "task_batches"]
