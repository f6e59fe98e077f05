"""HF byte-level BPE tokenizers (SmolLM2, Llama 3, GPT-2 style) over the `tokenizers` library.

Three sources, one class:

* `from_file`: an HF `tokenizer.json` (a file, or a directory holding it), with the special-token
  names, BOS/EOS flags and chat template of the `tokenizer_config.json` (and `chat_template.jinja`)
  next to it, as `transformers.AutoTokenizer.from_pretrained(dir)` reads them.
* `from_gguf`: a GGUF file's vocabulary, merges, token types, special ids and chat template, built
  into the same `tokenizers.Tokenizer` that transformers' GGUF converter builds
  (`transformers.integrations.gguf.gguf_tokenizer_mapping`), so ids equal
  `AutoTokenizer.from_pretrained(dir, gguf_file=name)`. One deliberate difference: transformers
  also registers GPT-2's default "<|endoftext|>" when the file has no such token, appending an id
  the model has no embedding row for; we never add a token the file does not list.
* `save`: `tokenizer.json` + `tokenizer_config.json`, which transformers loads back with equal ids.

Special tokens are the added tokens marked special (GGUF control tokens). `encode_segment` encodes
text with them unmatched (tokenizers' `encode_special_tokens`, what transformers'
`split_special_tokens=True` uses), so model, user and tool text can never forge a turn boundary.
Byte-level BPE adds no prefix space, so a segment encodes the same alone or after a special token;
tokenizers that would add one (SentencePiece-style `Metaspace` / `Prepend`) are refused: load those
from their `tokenizer.model`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Mapping, Sequence

import tokenizers
from etils import epath
from tokenizers import AddedToken, Regex, decoders, models, pre_tokenizers

from selfchallenge_jax.tokenizer.base import Tokenizer
from selfchallenge_jax.tokenizer.tiktoken_tokenizer import LLAMA3_PATTERN

_CONTROL, _USER_DEFINED = 3, 4  # llama.cpp token types
_SPECIAL_ROLES = ("bos_token", "eos_token", "unk_token", "pad_token")
_GGUF_SPECIAL_IDS = {"bos_token": "bos_token_id", "eos_token": "eos_token_id",
                     "unk_token": "unknown_token_id", "pad_token": "padding_token_id"}

# The split regexes transformers' GGUF converter uses per `tokenizer.ggml.pre`; any other value
# (e.g. SmolLM2's "smollm", GPT-2's "default") keeps GPT-2's ByteLevel regex, as there.
_TEKKEN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
    r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
          r"|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN35 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}"
           r"| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_GPT4O = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
GGUF_PRE_TOKENIZER_SPLITS: dict[str, str] = {
    **dict.fromkeys(("llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                     "midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe"), LLAMA3_PATTERN),
    "tekken": _TEKKEN,
    **dict.fromkeys(("qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez"), _QWEN2),
    "qwen35": _QWEN35,
    **dict.fromkeys(("gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"), _GPT4O),
}


def byte_alphabet() -> dict[int, str]:
  """GPT-2's byte -> printable character table, in which byte-level vocabularies are spelled."""
  kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
          *range(ord("®"), ord("ÿ") + 1)]
  table = {b: chr(b) for b in kept}
  shifted = 0
  for b in range(256):
    if b not in table:
      table[b] = chr(256 + shifted)
      shifted += 1
  return table


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
  if isinstance(node, Mapping):
    yield node
    for value in node.values():
      yield from _walk(value)
  elif isinstance(node, list):
    for value in node:
      yield from _walk(value)


def _prefix_space_step(spec: Mapping[str, Any]) -> str | None:
  """The normalizer / pre-tokenizer step that would prepend a space to every segment, if any."""
  for step in _walk([spec.get("normalizer"), spec.get("pre_tokenizer")]):
    kind = step.get("type")
    if kind == "Prepend":
      return "a Prepend normalizer"
    if kind == "Metaspace" and (step.get("prepend_scheme") in ("always", "first")
                                or step.get("add_prefix_space")):
      return "a Metaspace pre-tokenizer with a prefix space"
    if kind == "ByteLevel" and step.get("add_prefix_space"):
      return "a ByteLevel pre-tokenizer with add_prefix_space"
  return None


def _token_name(value: Any) -> str | None:
  """A special-token entry of tokenizer_config.json: a name, an AddedToken dict, or null."""
  if isinstance(value, Mapping):
    value = value.get("content")
  return value if isinstance(value, str) else None


class HFTokenizer(Tokenizer):
  """A `tokenizers.Tokenizer` (byte-level BPE) with its special-token roles and chat template.

  `chat_template` is the source's Jinja chat template (None if it has none); `make_chat_format("auto",
  ...)` picks the chat format from it. The roles' tokens (and `extra_special_tokens`) are marked
  special in the given `tokenizer`, as transformers does when it loads one.
  """

  def __init__(
      self,
      tokenizer: tokenizers.Tokenizer,
      *,
      bos_token: str | None,
      eos_token: str | None,
      pad_token: str | None = None,
      unk_token: str | None = None,
      extra_special_tokens: Sequence[str] = (),
      chat_template: str | None = None,
      add_bos_token: bool = False,
      add_eos_token: bool = False,
      source: str = "<memory>",
  ) -> None:
    self._source = source
    reason = _prefix_space_step(json.loads(tokenizer.to_str()))
    if reason is not None:
      raise ValueError(
          f"{source}: this tokenizer adds a prefix space ({reason}), which HFTokenizer does not "
          "support (it would add one after every special token); load a SentencePiece model from "
          "its tokenizer.model instead")
    self._roles = {"bos_token": bos_token, "eos_token": eos_token, "pad_token": pad_token,
                   "unk_token": unk_token}
    # transformers registers every named special token as a special added token; so do we.
    for name in [*self._roles.values(), *extra_special_tokens]:
      if name is None:
        continue
      if tokenizer.token_to_id(name) is None:
        raise ValueError(f"{source}: special token {name!r} is not in the vocabulary")
      added = tokenizer.get_added_tokens_decoder().get(tokenizer.token_to_id(name))
      if added is None or added.content != name or not added.special:
        tokenizer.add_special_tokens([AddedToken(name, normalized=False, special=True)])
    self._tokenizer = tokenizer
    # A second copy whose special tokens are plain text: `encode_special_tokens` is a mutable
    # flag, and it must not be saved into tokenizer.json nor affect `encode_with_specials`.
    self._plain = tokenizers.Tokenizer.from_str(tokenizer.to_str())
    self._plain.encode_special_tokens = True
    added = tokenizer.get_added_tokens_decoder()
    self._special = {token.content: index for index, token in sorted(added.items()) if token.special}
    self._vocab_size = max([tokenizer.get_vocab_size(with_added_tokens=True), *(i + 1 for i in added)])
    self.chat_template = chat_template
    self.add_bos_token = add_bos_token
    self.add_eos_token = add_eos_token

  # ---- constructors ---------------------------------------------------------------------------
  @classmethod
  def from_file(cls, path: str | os.PathLike[str]) -> "HFTokenizer":
    """A tokenizer.json, or a directory holding one, plus tokenizer_config.json if present."""
    file = epath.Path(path)
    if file.is_dir():
      file = file / "tokenizer.json"
    if not file.exists():
      raise FileNotFoundError(f"tokenizer file not found: {file}")
    source = os.fspath(file)
    try:
      tokenizer = tokenizers.Tokenizer.from_str(file.read_text())
    except Exception as e:  # tokenizers raises plain Exceptions for malformed JSON or fields
      raise ValueError(f"{source}: not an HF tokenizer.json ({e})") from None
    config: dict[str, Any] = {}
    config_file = file.parent / "tokenizer_config.json"
    if config_file.exists():
      try:
        config = json.loads(config_file.read_text())
      except json.JSONDecodeError as e:
        raise ValueError(f"{os.fspath(config_file)}: not valid JSON ({e})") from None
    template = config.get("chat_template")
    if isinstance(template, list):  # [{"name": "default", "template": ...}, {"name": ...}, ...]
      template = {t.get("name"): t.get("template") for t in template}.get("default")
    template_file = file.parent / "chat_template.jinja"  # transformers >= 4.5x saves it here
    if template_file.exists():
      template = template_file.read_text()
    extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
    extra = extra.values() if isinstance(extra, Mapping) else extra
    return cls(
        tokenizer, **{role: _token_name(config.get(role)) for role in _SPECIAL_ROLES},
        extra_special_tokens=[n for n in map(_token_name, extra) if n is not None],
        chat_template=template if isinstance(template, str) else None,
        add_bos_token=bool(config.get("add_bos_token", False)),
        add_eos_token=bool(config.get("add_eos_token", False)), source=source)

  @classmethod
  def from_gguf(cls, path: str | os.PathLike[str]) -> "HFTokenizer":
    """The tokenizer of a GGUF file (`tokenizer.ggml.model = gpt2`), as transformers builds it."""
    import gguf  # pylint: disable=import-outside-toplevel  (only GGUF users need it)

    source = os.fspath(path)
    if not os.path.isfile(source):
      raise FileNotFoundError(f"tokenizer file not found: {source}")
    try:
      fields = gguf.GGUFReader(source).fields
    except Exception as e:  # the reader raises ValueError / struct errors on other files
      raise ValueError(f"{source}: not a readable GGUF file ({type(e).__name__}: {e})") from None

    def field(name: str, default: Any = None) -> Any:
      value = fields.get(name)
      return default if value is None else value.contents()

    kind = field("tokenizer.ggml.model")
    if kind is None:
      raise ValueError(f"{source}: this GGUF file has no tokenizer (no tokenizer.ggml.model)")
    if kind != "gpt2":
      raise ValueError(f"{source}: tokenizer.ggml.model is {kind!r}; HFTokenizer reads byte-level "
                       "BPE GGUF tokenizers ('gpt2') only")
    tokens, merges = field("tokenizer.ggml.tokens"), field("tokenizer.ggml.merges")
    if not tokens or not merges:
      raise ValueError(f"{source}: a gpt2 GGUF tokenizer needs tokenizer.ggml.tokens and .merges")
    names = {}
    for role, key in _GGUF_SPECIAL_IDS.items():
      index = field(f"tokenizer.ggml.{key}")
      if index is not None and not 0 <= index < len(tokens):
        raise ValueError(f"{source}: tokenizer.ggml.{key} = {index} is outside the vocabulary")
      names[role] = None if index is None else tokens[index]
    tokenizer = byte_level_bpe(tokens, merges, field("tokenizer.ggml.token_type") or (),
                               field("tokenizer.ggml.pre"), source=source)
    return cls(tokenizer, **names, chat_template=field("tokenizer.chat_template"),
               add_bos_token=bool(field("tokenizer.ggml.add_bos_token", False)),
               add_eos_token=bool(field("tokenizer.ggml.add_eos_token", False)), source=source)

  def save(self, out_dir: str | os.PathLike[str], chat_template: str | None = None) -> epath.Path:
    """Writes tokenizer.json + tokenizer_config.json (chat template: the given one, else ours)."""
    out = epath.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(self._tokenizer.to_str(pretty=True))
    added = {
        str(index): {"content": t.content, "lstrip": t.lstrip, "normalized": t.normalized,
                     "rstrip": t.rstrip, "single_word": t.single_word, "special": t.special}
        for index, t in sorted(self._tokenizer.get_added_tokens_decoder().items())}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **self._roles,
        "add_bos_token": self.add_bos_token,
        "add_eos_token": self.add_eos_token,
        "clean_up_tokenization_spaces": False,
        "added_tokens_decoder": added,
        "chat_template": chat_template if chat_template is not None else self.chat_template,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))
    return out

  # ---- Tokenizer ------------------------------------------------------------------------------
  @property
  def vocab_size(self) -> int:
    return self._vocab_size

  def _role_id(self, role: str) -> int:
    name = self._roles[role]
    if name is None:
      raise ValueError(f"{self._source}: the tokenizer defines no {role} (tokenizer_config.json "
                       "or the GGUF metadata names none)")
    return self._special[name]

  @property
  def bos_id(self) -> int:
    return self._role_id("bos_token")

  @property
  def eos_id(self) -> int:
    return self._role_id("eos_token")

  @property
  def pad_id(self) -> int:
    """The file's pad token (SmolLM2: <|im_end|>, which is also EOS), else EOS."""
    return self._role_id("pad_token" if self._roles["pad_token"] is not None else "eos_token")

  @property
  def special_tokens(self) -> Mapping[str, int]:
    return self._special

  def encode_segment(self, text: str) -> list[int]:
    return self._plain.encode(text, add_special_tokens=False).ids

  def encode_with_specials(self, text: str, *, bos: bool = False) -> list[int]:
    # The library's own added-token matching: an independent check of the chat renderers.
    ids = [self.bos_id] if bos else []
    return ids + self._tokenizer.encode(text, add_special_tokens=False).ids

  def decode(self, ids: Sequence[int]) -> str:
    return self._tokenizer.decode(self._check_ids(ids), skip_special_tokens=False)

  def id_to_token(self, token_id: int) -> str | None:
    """The vocabulary spelling of an id (byte-level characters, e.g. "Ġhello")."""
    return self._tokenizer.id_to_token(int(token_id))


def byte_level_bpe(
    tokens: Sequence[str],
    merges: Sequence[str],
    token_types: Sequence[int] = (),
    pre: str | None = None,
    *,
    source: str = "<memory>",
) -> tokenizers.Tokenizer:
  """GGUF byte-level BPE fields -> a tokenizers.Tokenizer, step for step as transformers does.

  Tokens not spelled in GPT-2's byte alphabet are respelled into it; control tokens (type 3) that
  are spelled in it become special added tokens, user-defined ones (type 4) plain added tokens
  (llama.cpp matches both whole in text); `pre` picks the split regex.
  """
  spelling = byte_alphabet()
  alphabet = set(spelling.values())
  vocab = {(token if set(token) <= alphabet
            else "".join(spelling[b] for b in token.encode("utf-8"))): index
           for index, token in enumerate(tokens)}
  pairs = []
  for number, merge in enumerate(merges):
    parts = merge.split(" ")
    if len(parts) != 2:
      raise ValueError(f"{source}: merge {number} is not two space-separated tokens: {merge!r}")
    pairs.append((parts[0], parts[1]))
  tokenizer = tokenizers.Tokenizer(models.BPE(
      vocab=vocab, merges=pairs, dropout=None, continuing_subword_prefix="", end_of_word_suffix="",
      fuse_unk=False))
  split = GGUF_PRE_TOKENIZER_SPLITS.get(pre or "")
  if split is None:
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  else:
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
  tokenizer.decoder = decoders.ByteLevel()
  typed = list(zip(tokens, token_types))
  control = [AddedToken(t, normalized=False, special=True)
             for t, kind in typed if kind == _CONTROL and set(t) <= alphabet]
  if control:
    tokenizer.add_special_tokens(control)
  # transformers' GPT2Tokenizer registers its default "<|endoftext|>" as special (if listed).
  if "<|endoftext|>" in vocab:
    tokenizer.add_special_tokens([AddedToken("<|endoftext|>", normalized=False, special=True)])
  user_defined = [AddedToken(t, normalized=False, special=False)
                  for t, kind in typed if kind == _USER_DEFINED and t in vocab]
  if user_defined:
    tokenizer.add_tokens(user_defined)
  return tokenizer
