"""Tiny random-init HF Llama models of the three styles the project must match (test helper)."""

from __future__ import annotations

import torch
import transformers

STYLES = {
    # Llama 2: MHA, no rope scaling.
    "llama2": dict(num_attention_heads=4, num_key_value_heads=4, rope_theta=10000.0,
                   rms_norm_eps=1e-5),
    # Llama 3.1: GQA + llama3 rope scaling (original context small so scaling bites at short lengths).
    "llama3.1": dict(num_attention_heads=4, num_key_value_heads=2, rope_theta=500000.0,
                     rms_norm_eps=1e-5,
                     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
    # Llama 3.2: tied embeddings, GQA, explicit head_dim.
    "llama3.2": dict(num_attention_heads=4, num_key_value_heads=2, rope_theta=500000.0,
                     rms_norm_eps=1e-5, tie_word_embeddings=True, head_dim=16,
                     rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0, "original_max_position_embeddings": 32}),
}


def make_hf_llama(style: str, seed: int = 0, **overrides) -> transformers.LlamaForCausalLM:
  torch.manual_seed(seed)
  kwargs = dict(vocab_size=128, hidden_size=64, num_hidden_layers=2, intermediate_size=96,
                max_position_embeddings=256, bos_token_id=1, eos_token_id=2)
  kwargs.update(STYLES[style])
  kwargs.update(overrides)
  config = transformers.LlamaConfig(**kwargs)
  model = transformers.LlamaForCausalLM(config).float().eval()
  # Non-trivial norm scales so a mapping mistake in the norms is visible.
  with torch.no_grad():
    for name, p in model.named_parameters():
      if "norm" in name:
        p.copy_(1.0 + 0.1 * torch.randn_like(p))
  return model


def hf_logits(model, tokens, attention_mask, position_ids):
  with torch.no_grad():
    out = model(input_ids=torch.tensor(tokens), attention_mask=torch.tensor(attention_mask),
                position_ids=torch.tensor(position_ids))
  return out.logits.float().numpy()
