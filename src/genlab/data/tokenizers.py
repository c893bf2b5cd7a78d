"""Text tokenizers, characters (as nanoGPT) or byte-level BPE (Hugging Face), rebuilt from plain-data descriptions."""
from collections.abc import Iterable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from genlab.checks import choice
from genlab.config.validate import TOKENIZER_KINDS
from genlab.errors import ConfigError


def check_kind(kind: str, key: str = "data.tokenizer") -> str:
    """Return kind if it names a tokenizer, else raise ConfigError naming the key and the valid kinds."""
    return choice(key, kind, TOKENIZER_KINDS)


def byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character that stands for each of the 256 bytes, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    chars = printable + [256 + shift for shift in range(len(others))]
    return {chr(char): byte for char, byte in zip(chars, printable + others)}


class TextTokenizer:
    """What the data module and the sampler need: text ↔ ids in [0, vocab_size), exactly, and a description."""

    kind: str
    vocab_size: int
    token_chars: torch.Tensor  # (vocab_size,) int64: characters of original text each token id stands for

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def decode(self, ids: Iterable[int]) -> str:
        raise NotImplementedError

    def describe(self) -> dict:
        """Everything needed to rebuild this tokenizer, as str/int/list/dict only (safe for weights_only loads)."""
        raise NotImplementedError


class CharTokenizer(TextTokenizer):
    """One token per character; the vocabulary is the sorted set of characters of the text it was built from."""

    kind = "char"

    def __init__(self, chars: str) -> None:
        self.chars = chars
        self.index = {char: token for token, char in enumerate(chars)}
        self.vocab_size = len(chars)
        self.token_chars = torch.ones(self.vocab_size, dtype=torch.long)

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[char] for char in text]
        except KeyError as error:
            char = error.args[0]
            raise ConfigError(f"character {char!r} is not in the {self.vocab_size}-character vocabulary") from None

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[token] for token in ids)

    def describe(self) -> dict:
        return {"kind": self.kind, "vocab_size": self.vocab_size, "chars": self.chars}


class BPETokenizer(TextTokenizer):
    """Hugging Face byte-level BPE: any text round-trips exactly, its bytes merged into at most vocab_size tokens."""

    kind = "bpe"

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()
        byte_of = byte_of_char()
        # A UTF-8 continuation byte (0b10xxxxxx) belongs to a character that another byte starts.
        chars = [sum(byte_of[char] & 0xC0 != 0x80 for char in tokenizer.id_to_token(token)) for token in range(self.vocab_size)]
        self.token_chars = torch.tensor(chars, dtype=torch.long)

    @classmethod
    def train(cls, text: str, vocab_size: int) -> "BPETokenizer":
        """Train deterministically on text: the 256 byte tokens first, then merges until vocab_size or no pair is left."""
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        )
        tokenizer.train_from_iterator([text], trainer)
        return cls(tokenizer)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(list(ids))

    def describe(self) -> dict:
        return {"kind": self.kind, "vocab_size": self.vocab_size, "json": self.tokenizer.to_str()}


def build_tokenizer(kind: str, text_for_vocab: str, vocab_size: int) -> TextTokenizer:
    """A new tokenizer of kind: char takes its vocabulary from the text, bpe trains on it up to vocab_size tokens."""
    if check_kind(kind) == "char":
        return CharTokenizer.from_text(text_for_vocab)
    return BPETokenizer.train(text_for_vocab, vocab_size)


def tokenizer_from_description(description: dict) -> TextTokenizer:
    """Rebuild the tokenizer that `describe()` gave this dict, with nothing else (e.g. from a checkpoint)."""
    kind = check_kind(description.get("kind"), key="tokenizer description kind")
    field = "chars" if kind == "char" else "json"
    if not isinstance(description.get(field), str):
        raise ConfigError(f"tokenizer description of kind {kind} needs a string {field!r}; it has {sorted(description)}")
    if kind == "char":
        return CharTokenizer(description["chars"])
    return BPETokenizer(Tokenizer.from_str(description["json"]))


def use_stored_tokenizer(datamodule, meta: dict) -> None:
    """Give `datamodule` the tokenizer a checkpoint's genlab block describes (the model's vocabulary), when it has
    one and the data takes one: a text other than the training text is encoded as the model reads it."""
    description = (meta.get("data") or {}).get("tokenizer")
    if description and hasattr(datamodule, "use_tokenizer"):
        datamodule.use_tokenizer(tokenizer_from_description(description))
