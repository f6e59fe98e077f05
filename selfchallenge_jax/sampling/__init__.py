"""KV-cache sampling: jitted extend-prefill and device decode loop, and the host-side Sampler."""

from selfchallenge_jax.sampling.sampler import SampleOutput, Sampler, prompt_bucket

__all__ = ["SampleOutput", "Sampler", "prompt_bucket"]
