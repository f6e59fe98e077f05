"""The iteration order of training: on-policy, or sampling batch k+1 while batch k is verified.

    for step, metrics, data_state in iterations(trainer, lambda: next(batches), steps,
                                                overlap_next_batch=True, drain_at=checkpoint_due):
      ...

With `overlap_next_batch`, batch k+1 is sampled (with the params before update k) while the reward
stage verifies batch k, then update k runs: all of batch k's verification hides behind sampling,
and batch k+1 trains one update behind its sampling params (the clipped ratio against the
sampler's logprobs covers that). `drain_at(step)` says where the pipeline must be empty after a
step (checkpoints), so a run resumed there repeats the uninterrupted one exactly.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from selfchallenge_jax.train.trainer import Trainer


def iterations(trainer: Trainer, next_tasks: Callable[[], Sequence[Any]], num_steps: int, *,
               overlap_next_batch: bool, drain_at: Callable[[int], bool] = lambda step: False,
               data_state: Callable[[], Any] = lambda: None
               ) -> Iterator[tuple[int, dict[str, float], Any]]:
  """Yields (step, metrics, data state to checkpoint after that step) until `num_steps`."""
  sampled = None
  while trainer.step < num_steps:
    step = trainer.step + 1                       # the step this iteration completes
    if sampled is None:
      sampled = trainer.sample(next_tasks())
    state = data_state()                          # taken before any batch is sampled ahead
    ahead = None
    if overlap_next_batch and step < num_steps and not drain_at(step):
      ahead = trainer.sample(next_tasks(), batch_index=step)
    metrics = trainer.learn(sampled)
    sampled = ahead
    yield step, metrics, state
