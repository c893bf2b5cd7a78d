"""A UTF-8 text file for language modelling: split by characters, tokenized once (cached), served as token windows."""

import hashlib
import math
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, Sampler

from genlab.checks import fraction, integer
from genlab.data.batched import whole_batch
from genlab.data.epoch_samplers import RandomWindowSampler, ResumableTrainOrder, loader_generator
from genlab.data.text_selection import select_text
from genlab.data.token_cache import cached_tokenizer, cached_tokens
from genlab.data.tokenizers import TextTokenizer, check_kind
from genlab.errors import ConfigError, DataError

SHAKESPEARE_FILE = ("tinyshakespeare", "input.txt")
SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"



def evenly_spaced(count: int, keep: int | None) -> np.ndarray:
    """Indices of `keep` items spread evenly over range(count), always the same ones; all of them when keep is None."""
    if keep is None or keep >= count:
        return np.arange(count)
    return np.linspace(0, count - 1, keep).round().astype(np.int64)


class TokenWindows(Dataset):
    """Windows of block_size + 1 tokens as (x, y) int64, y = x shifted by one; item i starts at starts[i] (train: at i)."""

    def __init__(self, tokens: np.ndarray, block_size: int, starts: np.ndarray | None = None) -> None:
        self.tokens, self.block_size, self.starts = tokens, block_size, starts

    def __len__(self) -> int:
        return len(self.tokens) - self.block_size if self.starts is None else len(self.starts)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, targets = self.__getitems__([index])
        return inputs[0], targets[0]  # (T,), (T,)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of windows (B, T) each, gathered from the token memmap in one indexing operation."""
        starts = np.asarray(indices, dtype=np.int64) if self.starts is None else self.starts[indices]
        windows = torch.from_numpy(self.tokens[starts[:, None] + np.arange(self.block_size + 1)].astype(np.int64))
        return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()


class TextDataModule(ResumableTrainOrder, LightningDataModule):
    """Text split by characters (train, val, optional test), served as random train windows and fixed eval windows."""

    def __init__(
        self,
        path: str,
        tokenizer: str = "char",
        vocab_size: int = 1024,
        block_size: int = 256,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.0,
        val_windows: int | None = None,
        train_batches_per_epoch: int = 250,
        cache_dir: str = ".cache",
        num_workers: int = 0,
        seed: int = 0,
        only: str | list[int] | None = None,
        exclude: str | list[int] | None = None,
        unknown_char: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(path, (str, Path)) or not str(path).strip():
            raise ConfigError(f"data.path must name a UTF-8 text file, got {path!r}")
        self.path = Path(path)
        self.tokenizer_kind = check_kind(tokenizer)
        self.vocab_size_target = integer("data.vocab_size", vocab_size, minimum=256 if tokenizer == "bpe" else 1)
        self.block_size = integer("data.block_size", block_size)
        self.batch_size = integer("data.batch_size", batch_size)
        self.split_fractions = self._fractions(val_fraction, test_fraction)
        self.val_windows = None if val_windows is None else integer("data.val_windows", val_windows)
        self.train_batches_per_epoch = integer("data.train_batches_per_epoch", train_batches_per_epoch)
        self.cache_dir = str(cache_dir)
        self.num_workers = integer("data.num_workers", num_workers, minimum=0)
        self.seed = integer("data.seed", seed, minimum=0)
        self.has_test_split = self.split_fractions["test"] > 0
        self.only, self.exclude = only, exclude
        if unknown_char is not None and (not isinstance(unknown_char, str) or len(unknown_char) != 1):
            raise ConfigError(f"data.unknown_char must be one character, got {unknown_char!r}")
        self.unknown_char = unknown_char
        self.given_tokenizer: TextTokenizer | None = None  # a checkpoint's (init_from), else one built from the text
        self.tokenizer: TextTokenizer | None = None
        self.vocab_size: int | None = None  # the tokenizer's real size, known after setup()
        self.token_chars: torch.Tensor | None = None
        self.datasets: dict[str, TokenWindows] | None = None
        self.sha256: str | None = None
        self._split_texts: dict[str, str] = {}

    @staticmethod
    def _fractions(val_fraction, test_fraction) -> dict[str, float]:
        """Train, val and test fractions of the characters, or ConfigError naming the data.* key at fault."""
        val = fraction("data.val_fraction", val_fraction, low_open=True)
        test = fraction("data.test_fraction", test_fraction, low_open=False)
        if val + test >= 1:
            raise ConfigError(f"data.val_fraction + data.test_fraction must be below 1 to leave train text, got {val} + {test}")
        return {"train": 1.0 - val - test, "val": val, "test": test}

    def read_text(self) -> str:
        """The whole file as text, or a one-line DataError naming the file."""
        if self.path.is_dir():
            raise DataError(f"text file {self.path} is a directory; set data.path to a UTF-8 text file")
        if not self.path.is_file():
            hint = "set data.path to a UTF-8 text file"
            if self.path.parts[-2:] == SHAKESPEARE_FILE:
                hint = f"data=shakespeare reads it below paths.data_dir: set paths.data_dir or download {SHAKESPEARE_URL}"
            raise DataError(f"text file {self.path} does not exist; {hint}")
        raw = self.path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"text file {self.path} is not UTF-8 (byte {error.start}: {error.reason})") from None
        if not text:
            raise DataError(f"text file {self.path} is empty")
        self.sha256 = hashlib.sha256(raw).hexdigest()
        return select_text(text, self.only, self.exclude, str(self.path))

    def use_tokenizer(self, tokenizer: TextTokenizer) -> None:
        """Encode with this tokenizer (a checkpoint's, to fine-tune it) instead of one built from the text."""
        self.given_tokenizer = tokenizer

    def in_vocabulary(self, text: str, tokenizer: TextTokenizer) -> str:
        """`text` when the given character vocabulary covers it; with data.unknown_char, its other characters
        mapped to that one; else ConfigError listing them."""
        unknown = sorted(set(text) - set(getattr(tokenizer, "chars", text)))
        if not unknown:
            return text
        listed = " ".join(repr(char) for char in unknown[:20]) + (" ..." if len(unknown) > 20 else "")
        if self.unknown_char is None:
            raise ConfigError(
                f"{len(unknown)} characters of {self.path} are not in the checkpoint's {tokenizer.vocab_size}-character "
                f"vocabulary: {listed}; take them out (data.only, data.exclude) or set data.unknown_char=<one of its "
                "characters> to map them to it")
        if self.unknown_char not in tokenizer.chars:
            raise ConfigError(f"data.unknown_char={self.unknown_char!r} is not in the checkpoint's "
                              f"{tokenizer.vocab_size}-character vocabulary")
        return text.translate({ord(char): self.unknown_char for char in unknown})

    def _split(self, text: str) -> dict[str, str]:
        """Train = first part of the characters, then val, then test (only when test_fraction > 0), as nanoGPT does."""
        train_end = math.floor(len(text) * self.split_fractions["train"] + 1e-9)
        if not self.has_test_split:
            return {"train": text[:train_end], "val": text[train_end:]}
        val_end = train_end + math.floor(len(text) * self.split_fractions["val"] + 1e-9)
        return {"train": text[:train_end], "val": text[train_end:val_end], "test": text[val_end:]}

    def setup(self, stage: str | None = None) -> None:
        """Read, split, tokenize (cached) and window the text once; later calls do nothing."""
        if self.datasets is not None:
            return
        text = self.read_text()
        if self.given_tokenizer is not None:
            tokenizer = self.given_tokenizer
            text = self.in_vocabulary(text, tokenizer)
        self._split_texts = self._split(text)
        if self.given_tokenizer is None:
            vocab_text = text if self.tokenizer_kind == "char" else self._split_texts["train"]
            tokenizer = cached_tokenizer(self.tokenizer_kind, vocab_text, self.vocab_size_target, self.cache_dir)
        tokens = {
            split: cached_tokens(tokenizer, split_text, self.cache_dir, {"path": str(self.path), "split": split})
            for split, split_text in self._split_texts.items()
        }
        for split, ids in tokens.items():
            if len(ids) < self.block_size + 1:
                raise ConfigError(
                    f"data.block_size={self.block_size} needs {self.block_size + 1} tokens in every split, but the "
                    f"{split} split of {self.path} has {len(ids)} tokens; lower data.block_size or give it more text"
                )
        self.datasets = {split: self._windows(split, ids) for split, ids in tokens.items()}
        self.tokenizer, self.vocab_size, self.token_chars = tokenizer, tokenizer.vocab_size, tokenizer.token_chars

    def _windows(self, split: str, tokens: np.ndarray) -> TokenWindows:
        """Train: a window at every start; val/test: the non-overlapping windows (val_windows of them, evenly spread)."""
        if split == "train":
            return TokenWindows(tokens, self.block_size)
        starts = np.arange((len(tokens) - 1) // self.block_size) * self.block_size
        return TokenWindows(tokens, self.block_size, starts[evenly_spaced(len(starts), self.val_windows)])

    def split_text(self, split: str) -> str:
        """The raw text of one split (train, val, or test when test_fraction > 0)."""
        self.setup()
        if split not in self._split_texts:
            raise ConfigError(f"unknown text split {split!r}; this data has splits {', '.join(self._split_texts)}")
        return self._split_texts[split]

    def _loader(self, split: str, sampler: Sampler | None = None) -> DataLoader:
        """A DataLoader over one split's windows with this module's batch size and workers."""
        self.split_text(split)  # sets up, and names the valid splits when split is not one
        if sampler is None and torch.distributed.is_available() and torch.distributed.is_initialized():
            # Lightning's default DistributedSampler pads with repeated windows; count each window once
            sampler = UnrepeatedDistributedSampler(self.datasets[split], shuffle=False)
        return DataLoader(
            self.datasets[split],
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=isinstance(sampler, RandomWindowSampler),
            collate_fn=whole_batch,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            generator=loader_generator(self.seed) if split == "train" else None,
        )

    def train_dataloader(self) -> DataLoader:
        """train_batches_per_epoch batches of random windows: new ones each epoch, the same for the same seed and epoch."""
        self.setup()
        draws = self.train_batches_per_epoch * self.batch_size
        sampler = RandomWindowSampler(len(self.datasets["train"]), draws, self.seed)
        return self._loader("train", self.resume_sampler(sampler, self.batch_size))

    def val_dataloader(self) -> DataLoader:
        """The fixed validation windows, in order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """The fixed test windows, in order; ConfigError when test_fraction is 0."""
        if not self.has_test_split:
            raise ConfigError("data.test_fraction is 0, so there is no test split; set data.test_fraction > 0 to test")
        return self._loader("test")

    def describe(self) -> dict:
        """JSON-ready summary stored in checkpoints; `tokenizer` alone rebuilds the tokenizer for sampling."""
        self.setup()
        return {
            "dataset": "text",
            "path": str(self.path),
            **({"only": self.only} if self.only is not None else {}),
            **({"exclude": self.exclude} if self.exclude is not None else {}),
            "sha256": self.sha256,
            "tokenizer": self.tokenizer.describe(),
            "vocab_size": self.vocab_size,
            "block_size": self.block_size,
            "split_fractions": dict(self.split_fractions),
            "split_tokens": {split: len(windows.tokens) for split, windows in self.datasets.items()},
            "split_chars": {split: len(text) for split, text in self._split_texts.items()},
        }
