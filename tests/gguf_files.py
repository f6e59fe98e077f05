"""GGUF files written inside the tests the way llama.cpp's converter lays out a Llama (test helper):
its tensor names, reversed dims, q/k row permutation and quantized blocks, independent of the
importer; optionally with a byte-level BPE tokenizer's vocabulary, merges and chat template."""

import json

import gguf
import jax
import numpy as np
from gguf import GGMLQuantizationType as Q

from selfchallenge_jax.checkpoint import hf_keys
from selfchallenge_jax.model import llama
from selfchallenge_jax.model.config import LlamaConfig

# GQA (8 heads over 2 KV heads) and input dims that are multiples of 256, as the K-quants need.
TINY = LlamaConfig(vocab_size=320, d_model=256, num_layers=2, num_heads=8, num_kv_heads=2,
                   mlp_dim=512, max_seq_len=128, rope_theta=10000.0, norm_eps=1e-5, bos_id=1,
                   eos_id=2)
# The layer matrices cycle through these types, so each type stores some q or k rows too.
MATRIX_TYPES = (Q.F16, Q.BF16, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q8_0, Q.Q6_K, Q.F32)


# ---- a llama.cpp-style writer (independent of the importer: its own names, permutation, bytes) --

def _llama_cpp_permute(w, n_head):
  """convert_hf_to_gguf.py's `LlamaModel.permute` (rows of q/k; works on rows of blocks too)."""
  return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(
      w.shape)


def _f16_bytes(x):
  return x.astype(np.float16)[..., None].view(np.uint8)


def _random_k_blocks(shape, qtype, rng):
  """Valid Q4_K / Q6_K rows (gguf cannot quantize to K-quants): random quants and scales with
  finite fp16 super-block scales, sized so values are O(0.1)."""
  rows, cols = shape
  block, size = gguf.GGML_QUANT_SIZES[qtype]
  n = cols // block
  raw = rng.integers(0, 256, (rows, n, size), dtype=np.uint8)
  if qtype == Q.Q4_K:     # d, dmin (fp16), 12 bytes of 6-bit scales and mins, 128 bytes of nibbles
    raw[..., 0:2] = _f16_bytes(rng.uniform(0.5, 1.0, (rows, n)) * 1e-4)
    raw[..., 2:4] = _f16_bytes(rng.uniform(0.5, 1.0, (rows, n)) * 5e-4)
  else:                   # Q6_K: 128 bytes low bits, 64 high bits, 16 int8 scales, d (fp16) last
    raw[..., 192:208] = rng.integers(-16, 17, (rows, n, 16)).astype(np.int8).view(np.uint8)
    raw[..., 208:210] = _f16_bytes(rng.uniform(0.5, 1.0, (rows, n)) * 2e-4)
  return raw.reshape(rows, n * size)


def _encode(hf, qtype, rng):
  """(what to write, its dequantized float32 value) for an HF tensor stored as qtype."""
  if qtype == Q.F32:
    data = hf.astype(np.float32)
  elif qtype == Q.F16:
    data = hf.astype(np.float16)
  elif qtype in (Q.Q4_K, Q.Q6_K):
    data = _random_k_blocks(hf.shape, qtype, rng)
  else:
    data = gguf.quants.quantize(hf.astype(np.float32), qtype)
  return data, gguf.quants.dequantize(data, qtype).astype(np.float32)


def tiny_params(config=TINY, seed=0):
  """Random float32 params; norm scales near 1 but not 1, so a misplaced norm shows."""
  rng = np.random.default_rng(seed)

  def leaf(spec):
    shape, axes = spec
    center, std = (1.0, 0.1) if "norm" in axes else (0.0, 0.05)
    return (center + std * rng.standard_normal(shape)).astype(np.float32)
  return jax.tree.map(leaf, llama.param_shapes(config),
                      is_leaf=lambda x: isinstance(x, tuple) and isinstance(x[0], tuple))


def all_f32(name):
  return Q.F32


def mixed_types(name):
  if "norm" in name:
    return Q.F32
  if name == "token_embd.weight":
    return Q.Q8_0
  if name == "output.weight":
    return Q.Q6_K
  layer, kind = int(name.split(".")[1]), name.split(".")[2]
  kinds = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
  return MATRIX_TYPES[(layer * len(kinds) + kinds.index(kind)) % len(MATRIX_TYPES)]


def _add_bpe_tokenizer(w, tokenizer, chat_template, specials):
  """A tokenizers.Tokenizer's vocabulary as a gpt2 GGUF tokenizer: `specials` are control tokens,
  the first three being unk, bos and eos (SmolLM2's order; pad = eos)."""
  spec = json.loads(tokenizer.to_str())
  vocab, merges = spec["model"]["vocab"], spec["model"]["merges"]
  tokens = [""] * len(vocab)
  for token, index in vocab.items():
    tokens[index] = token
  w.add_tokenizer_model("gpt2")
  w.add_tokenizer_pre("smollm")
  w.add_token_list(tokens)
  w.add_token_types([3 if t in specials else 1 for t in tokens])
  w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
  unk, bos, eos = (vocab[t] for t in specials[:3])
  w.add_unk_token_id(unk)
  w.add_bos_token_id(bos)
  w.add_eos_token_id(eos)
  w.add_pad_token_id(eos)
  w.add_add_bos_token(False)
  w.add_chat_template(chat_template)


def write_gguf(path, config=TINY, params=None, *, types=all_f32, arch="llama", seed=0,
               tokens=None, edit=None, tensor_hook=None, extra_tensors=(), tokenizer=None,
               chat_template=None, specials=("<|endoftext|>", "<|im_start|>", "<|im_end|>")):
  """Writes `params` as llama.cpp lays out a Llama; returns {GGUF name: dequantized HF tensor}.

  edit(writer) may add or overwrite metadata; tensor_hook(name, hf) may change or drop (None) a
  tensor before it is encoded; extra_tensors are (name, array) written as they are. With
  `tokenizer` (a byte-level BPE tokenizers.Tokenizer whose vocabulary size is config.vocab_size)
  the file carries its vocabulary, merges and `chat_template` instead of placeholder tokens.
  """
  params = tiny_params(config, seed) if params is None else params
  rng = np.random.default_rng(seed + 1)
  names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_layers)
  w = gguf.GGUFWriter(path, arch)
  w.add_block_count(config.num_layers)
  w.add_context_length(config.max_seq_len)
  w.add_embedding_length(config.d_model)
  w.add_feed_forward_length(config.mlp_dim)
  w.add_head_count(config.num_heads)
  w.add_head_count_kv(config.num_kv_heads)
  w.add_rope_freq_base(config.rope_theta)
  w.add_layer_norm_rms_eps(config.norm_eps)
  w.add_vocab_size(config.vocab_size)
  w.add_rope_dimension_count(config.resolved_head_dim)
  if tokenizer is not None:
    _add_bpe_tokenizer(w, tokenizer, chat_template, list(specials))
  else:
    tokens = tokens if tokens is not None else (
        ["<unk>", "<s>", "</s>"] + [f"t{i}" for i in range(3, config.vocab_size)])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (len(tokens) - 3))
    w.add_token_merges(["t 1", "t 2"])
    w.add_bos_token_id(config.bos_id)
    w.add_eos_token_id(config.eos_id)
    w.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
  if edit is not None:
    edit(w)
  expected = {}
  for mapping in hf_keys.key_map(config):
    for i, key in enumerate(hf_keys.hf_keys(mapping, config)):
      node = params
      for p in mapping.path:
        node = node[p]
      hf = mapping.to_hf(node[i] if mapping.per_layer else node, config)
      name = names.get_name(key, try_suffixes=(".weight",))
      if tensor_hook is not None:
        hf = tensor_hook(name, hf)
        if hf is None:
          continue
      qtype = types(name)
      data, expected[name] = _encode(hf, qtype, rng)
      if mapping.path[-1] == "q_proj":
        data = _llama_cpp_permute(data, config.num_heads)
      elif mapping.path[-1] == "k_proj":
        data = _llama_cpp_permute(data, config.num_kv_heads)
      w.add_tensor(name, data, raw_dtype=qtype if data.dtype == np.uint8 else None)
  for name, data in extra_tensors:
    w.add_tensor(name, data)
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()
  return expected


def tiny_chat_gguf(path):
  """A tiny Llama with a byte-level BPE tokenizer (trained on our demos) and SmolLM2's ChatML
  template, as a GGUF file: what `init=gguf:` and `launch.evaluate` read in the tests."""
  from byte_bpe_files import SMOLLM2_TEMPLATE, train_byte_bpe
  from selfchallenge_jax.pipeline import demos as demo_lib
  chats = (demo_lib.executor_demos(["calculation", "web_browsing"], 2, 1)
           + demo_lib.challenger_demos(["calculation", "web_browsing"], 1, 1))
  tokenizer = train_byte_bpe(vocab_size=1024, texts=demo_lib.corpus_text(chats, "signatures"))
  config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), d_model=64, num_layers=2,
                       num_heads=4, num_kv_heads=2, mlp_dim=128, max_seq_len=4096,
                       tie_embeddings=True, bos_id=1, eos_id=2)
  write_gguf(str(path), config, tiny_params(config), types=all_f32, tokenizer=tokenizer,
             chat_template=SMOLLM2_TEMPLATE)
  return config
