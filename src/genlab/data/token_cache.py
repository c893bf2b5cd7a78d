"""Caches of trained BPE tokenizers and encoded texts (uint16/uint32 memmaps), built once under a file lock."""
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import tokenizers as hf_tokenizers
from filelock import FileLock

from genlab.data.tokenizers import TextTokenizer, build_tokenizer, tokenizer_from_description
from genlab.runs.atomic import write_atomic, write_json_atomic

log = logging.getLogger(__name__)
FORMAT_VERSION = 1  # bump when what the caches hold changes; every key changes with it


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(identity: dict) -> str:
    """Hash of everything that decides a cached file's contents, and the format version."""
    return hashlib.sha256(json.dumps({"format": FORMAT_VERSION, **identity}, sort_keys=True).encode()).hexdigest()[:20]


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned type that holds every id below vocab_size."""
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def encode_text(tokenizer: TextTokenizer, text: str) -> np.ndarray:
    """Encode text into a 1-D array of token ids (the slow step the cache exists to skip)."""
    return np.asarray(tokenizer.encode(text), dtype=token_dtype(tokenizer.vocab_size))


def cached_tokenizer(kind: str, text_for_vocab: str, vocab_size: int, cache_dir: str) -> TextTokenizer:
    """The tokenizer build_tokenizer would give; a BPE one is trained once per train text and vocab_size, then loaded."""
    if kind != "bpe":
        return build_tokenizer(kind, text_for_vocab, vocab_size)
    identity = {"kind": kind, "vocab_size": vocab_size, "text_sha256": text_sha256(text_for_vocab),
                "library": f"tokenizers-{hf_tokenizers.__version__}"}  # another version may merge differently
    path = Path(cache_dir) / "tokenizers" / f"{kind}-{cache_key(identity)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if path.is_file():
            return tokenizer_from_description(json.loads(path.read_text()))
        tokenizer = build_tokenizer(kind, text_for_vocab, vocab_size)
        log.info("trained %s tokenizer %s (%d tokens)", kind, path.name, tokenizer.vocab_size)
        write_json_atomic(path, tokenizer.describe())
    return tokenizer


def cached_tokens(tokenizer: TextTokenizer, text: str, cache_dir: str, label: dict) -> np.ndarray:
    """Token ids of text as a read-only memmap of `<cache_dir>/tokens/<key>.bin`, encoded on first use.

    The key hashes the text itself and the tokenizer's full description, so editing the file, the split
    fractions or any tokenizer setting gives a new cache entry; `label` (e.g. file and split) only annotates it.
    """
    description = json.dumps(tokenizer.describe(), sort_keys=True)
    identity = {"text_sha256": text_sha256(text), "tokenizer_sha256": text_sha256(description)}
    path = Path(cache_dir) / "tokens" / f"{cache_key(identity)}.bin"
    dtype = token_dtype(tokenizer.vocab_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if not path.is_file():
            tokens = encode_text(tokenizer, text)
            write_atomic(path, tokens.tobytes())
            meta = {**label, **identity, "tokenizer": tokenizer.kind, "vocab_size": tokenizer.vocab_size,
                    "dtype": dtype.name, "tokens": len(tokens), "chars": len(text)}
            write_json_atomic(path.with_suffix(".json"), meta)
            log.info("encoded %s into %d tokens: %s", label, len(tokens), path)
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=dtype)  # an empty file cannot be memory-mapped
    return np.memmap(path, dtype=dtype, mode="r")
