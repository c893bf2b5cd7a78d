"""Specification of the text data layer: tokenizers, the token cache and TextDataModule, on texts each test writes."""

import random
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue

from conftest import SHARED_DATA, is_plain
from genlab.data import token_cache
from genlab.data.text import TextDataModule
from genlab.data.tokenizers import build_tokenizer, tokenizer_from_description
from genlab.errors import ConfigError, DataError

CONF_DIR = Path(__file__).parents[1] / "conf" / "data"
WORDS = ["the", "king", "héllo", "wörld", "naïve", "✓", "—", "日本", "🙂", "and", "thou", "art", "\n", "  ", "\r\n"]
UNICODE_SAMPLE = "héllo — wörld ✓\n\tnaïve 日本 🙂\r\n  end"


def sample_text(words: int = 3000, seed: int = 0) -> str:
    """A reproducible text mixing ASCII, accents, CJK, emoji and odd whitespace."""
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def write_text(tmp_path: Path, text: str, name: str = "corpus.txt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")  # keep \r\n as written
    return str(path)


def datamodule(tmp_path: Path, text: str | None = None, **kwargs) -> TextDataModule:
    """A set-up TextDataModule over text (sample_text() by default) with a small block and the cache in tmp_path."""
    path = write_text(tmp_path, sample_text()) if text is None else write_text(tmp_path, text)
    options = {"block_size": 16, "batch_size": 4, "train_batches_per_epoch": 3, "cache_dir": str(tmp_path / "cache")}
    module = TextDataModule(path, **(options | kwargs))
    module.setup()
    return module


@pytest.fixture
def cache_work(monkeypatch) -> dict[str, list]:
    """Records every encoding and tokenizer build the token cache does (what a cache hit skips)."""
    calls = {"encode_text": [], "build_tokenizer": []}
    for name, record in calls.items():
        original = getattr(token_cache, name)
        monkeypatch.setattr(token_cache, name, lambda *args, o=original, r=record: r.append(args) or o(*args))
    return calls


def work_done(calls: dict[str, list]) -> tuple[int, int]:
    return len(calls["encode_text"]), len(calls["build_tokenizer"])


def first_batches(loader, count: int = 2) -> list[torch.Tensor]:
    return [x for x, _ in list(loader)[:count]]


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizer_round_trips_non_ascii_text_exactly(kind):
    text = sample_text(500) + UNICODE_SAMPLE
    tokenizer = build_tokenizer(kind, text, 300)
    for sample in (text, UNICODE_SAMPLE, "héllo — wörld ✓", ""):
        ids = tokenizer.encode(sample)
        assert all(0 <= token < tokenizer.vocab_size for token in ids)
        assert tokenizer.decode(ids) == sample


def test_char_vocabulary_is_the_sorted_characters_of_the_text():
    tokenizer = build_tokenizer("char", "banana ✓", 1024)
    assert tokenizer.describe()["chars"] == " abn✓" and tokenizer.vocab_size == 5
    assert tokenizer.encode("ban") == [2, 1, 3] and torch.equal(tokenizer.token_chars, torch.ones(5, dtype=torch.long))
    with pytest.raises(ConfigError, match="character 'z' is not in the 5-character vocabulary"):
        tokenizer.encode("zebra")


def test_bpe_training_is_deterministic_and_merges_beyond_the_256_byte_tokens():
    text = sample_text(2000)
    first, second = build_tokenizer("bpe", text, 320), build_tokenizer("bpe", text, 320)
    assert first.describe() == second.describe() and first.vocab_size == 320
    assert len(first.encode(text)) < len(text.encode("utf-8"))


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_token_chars_summed_over_encoded_val_split_counts_its_characters(tmp_path, kind):
    module = datamodule(tmp_path, tokenizer=kind, vocab_size=300)
    val_text = module.split_text("val")
    ids = torch.tensor(module.tokenizer.encode(val_text))
    assert module.token_chars.shape == (module.vocab_size,) and module.token_chars.dtype == torch.long
    assert module.token_chars[ids].sum().item() == len(val_text)
    assert any(ord(char) > 127 for char in val_text)  # the count is over multi-byte characters too


def test_split_is_by_characters_train_then_val_then_test(tmp_path):
    text = sample_text()
    module = datamodule(tmp_path, text, val_fraction=0.2, test_fraction=0.1)
    train, val, test = (module.split_text(split) for split in ("train", "val", "test"))
    assert train + val + test == text and module.has_test_split and set(module.datasets) == {"train", "val", "test"}
    assert (len(train), len(val)) == (int(len(text) * 0.7), int(len(text) * 0.2))
    assert module.describe()["split_chars"] == {"train": len(train), "val": len(val), "test": len(test)}


def test_no_test_split_without_test_fraction(tmp_path):
    module = datamodule(tmp_path)
    assert not module.has_test_split and set(module.datasets) == {"train", "val"}
    with pytest.raises(ConfigError, match="data.test_fraction is 0, so there is no test split"):
        module.test_dataloader()


@pytest.mark.parametrize("split", ["train", "val"])
def test_batches_are_int64_block_windows_with_y_shifted_by_one_token(tmp_path, split):
    module = datamodule(tmp_path, tokenizer="bpe", vocab_size=300)
    x, y = next(iter(getattr(module, f"{split}_dataloader")()))
    assert x.shape == y.shape == (4, 16) and x.dtype == y.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])
    tokens = torch.tensor(module.tokenizer.encode(module.split_text(split)))
    start = module.datasets[split].starts[0] if split == "val" else 0
    assert split == "train" or torch.equal(x[0], tokens[start : start + 16])


def test_train_epoch_is_train_batches_per_epoch_full_batches(tmp_path):
    loader = datamodule(tmp_path, train_batches_per_epoch=5).train_dataloader()
    assert len(loader) == 5 and [len(x) for x, _ in loader] == [4] * 5


def test_random_train_windows_change_with_epoch_and_repeat_for_same_seed_and_epoch(tmp_path):
    def epoch_batches(module: TextDataModule, epoch: int) -> list[torch.Tensor]:
        loader = module.train_dataloader()
        loader.sampler.set_epoch(epoch)
        return first_batches(loader)

    module, twin = datamodule(tmp_path, seed=7), datamodule(tmp_path, seed=7)
    other_seed = datamodule(tmp_path, seed=8)
    assert all(torch.equal(a, b) for a, b in zip(epoch_batches(module, 1), epoch_batches(twin, 1)))
    assert not torch.equal(epoch_batches(module, 0)[0], epoch_batches(module, 1)[0])
    assert not torch.equal(epoch_batches(module, 1)[0], epoch_batches(other_seed, 1)[0])


def test_val_windows_are_contiguous_non_overlapping_and_identical_across_calls(tmp_path):
    module = datamodule(tmp_path)
    windows = module.datasets["val"]
    tokens = len(module.tokenizer.encode(module.split_text("val")))
    assert windows.starts.tolist() == list(range(0, (tokens - 1) // 16 * 16, 16))
    first, again = first_batches(module.val_dataloader(), 99), first_batches(module.val_dataloader(), 99)
    assert len(first) > 1 and all(torch.equal(a, b) for a, b in zip(first, again))


def test_val_windows_n_keeps_the_same_n_evenly_spread_windows(tmp_path):
    every = datamodule(tmp_path).datasets["val"].starts
    kept = datamodule(tmp_path, val_windows=5, test_fraction=0.1)
    assert len(kept.datasets["val"]) == len(kept.datasets["test"]) == 5
    starts = kept.datasets["val"].starts.tolist()
    assert starts[0] == 0 and starts[-1] == every[-1] and set(starts) <= set(every.tolist())
    assert sum(len(x) for x, _ in kept.val_dataloader()) == 5


def test_second_setup_reuses_cached_tokens_and_bpe_tokenizer(tmp_path, cache_work):
    first = datamodule(tmp_path, tokenizer="bpe", vocab_size=300)
    assert work_done(cache_work) == (2, 1)  # train and val encoded, tokenizer trained
    second = datamodule(tmp_path, tokenizer="bpe", vocab_size=300)
    assert work_done(cache_work) == (2, 1) and second.describe() == first.describe()
    cached = sorted(path.suffix for path in (tmp_path / "cache" / "tokens").iterdir() if path.suffix != ".lock")
    assert cached == [".bin", ".bin", ".json", ".json"] and len(list((tmp_path / "cache" / "tokenizers").glob("*.json"))) == 1


def test_cache_is_rebuilt_when_file_contents_or_tokenizer_config_change(tmp_path, cache_work):
    original = datamodule(tmp_path, tokenizer="bpe", vocab_size=300)
    changed = datamodule(tmp_path, sample_text(seed=1), tokenizer="bpe", vocab_size=300)
    assert work_done(cache_work) == (4, 2) and changed.describe()["sha256"] != original.describe()["sha256"]
    datamodule(tmp_path, sample_text(seed=1), tokenizer="bpe", vocab_size=280)
    assert work_done(cache_work) == (6, 3)
    datamodule(tmp_path, sample_text(seed=1), tokenizer="char")
    assert work_done(cache_work) == (8, 4)  # char tokenizers are built, never cached: they cost one pass
    datamodule(tmp_path, tokenizer="bpe", vocab_size=300)
    assert work_done(cache_work) == (8, 4)  # back to the first file and tokenizer: all still cached


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizer_from_description_rebuilds_it_after_weights_only_checkpoint_load(tmp_path, kind):
    module = datamodule(tmp_path, tokenizer=kind, vocab_size=300)
    torch.save({"datamodule": module.describe()}, tmp_path / "model.ckpt")
    description = torch.load(tmp_path / "model.ckpt", weights_only=True)["datamodule"]
    assert is_plain(description) and description["dataset"] == "text" and description["block_size"] == 16
    rebuilt = tokenizer_from_description(description["tokenizer"])
    ids = module.tokenizer.encode(UNICODE_SAMPLE[:15])
    assert rebuilt.encode(UNICODE_SAMPLE[:15]) == ids and rebuilt.decode(ids) == UNICODE_SAMPLE[:15]
    assert rebuilt.vocab_size == description["vocab_size"] and torch.equal(rebuilt.token_chars, module.token_chars)


def test_describe_reports_file_hash_tokenizer_and_split_sizes(tmp_path):
    description = datamodule(tmp_path, val_fraction=0.25).describe()
    assert set(description) == {"dataset", "path", "sha256", "tokenizer", "vocab_size", "block_size",
                                "split_fractions", "split_tokens", "split_chars"}
    assert description["split_fractions"] == {"train": 0.75, "val": 0.25, "test": 0.0}
    assert description["split_tokens"] == description["split_chars"]  # char tokens are characters
    assert description["path"].endswith("corpus.txt") and len(description["sha256"]) == 64


def test_missing_file_is_a_one_line_error_naming_the_path(tmp_path):
    with pytest.raises(DataError) as caught:
        TextDataModule(str(tmp_path / "absent.txt")).setup()
    assert str(caught.value) == f"text file {tmp_path / 'absent.txt'} does not exist; set data.path to a UTF-8 text file"


@pytest.mark.parametrize(("content", "fault"), [(b"caf\xe9 au lait", "is not UTF-8 (byte 3: invalid continuation byte)"),
                                                (b"", "is empty")])
def test_undecodable_or_empty_file_is_a_one_line_data_error(tmp_path, content, fault):
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(DataError) as caught:
        TextDataModule(str(tmp_path / "bad.txt")).setup()
    assert str(caught.value) == f"text file {tmp_path / 'bad.txt'} {fault}"


@pytest.mark.parametrize(("options", "message"), [
    ({"val_fraction": 0}, "data.val_fraction must be a number in (0, 1), got 0"),
    ({"val_fraction": 1.5}, "data.val_fraction must be a number in (0, 1), got 1.5"),
    ({"test_fraction": -0.1}, "data.test_fraction must be a number in [0, 1), got -0.1"),
    ({"val_fraction": 0.6, "test_fraction": 0.5}, "data.val_fraction + data.test_fraction must be below 1"),
    ({"block_size": 0}, "data.block_size must be an integer >= 1, got 0"),
    ({"val_windows": 0}, "data.val_windows must be an integer >= 1, got 0"),
    ({"tokenizer": "bpe", "vocab_size": 100}, "data.vocab_size must be an integer >= 256, got 100"),
    ({"tokenizer": "xyz"}, "data.tokenizer must be one of char, bpe, got 'xyz'"),
    ({"path": ""}, "data.path must name a UTF-8 text file, got ''"),
])
def test_bad_settings_are_one_line_config_errors_naming_the_key(options, message):
    with pytest.raises(ConfigError) as caught:
        TextDataModule(**({"path": "corpus.txt"} | options))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_split_shorter_than_a_window_names_block_size_and_split_size(tmp_path):
    with pytest.raises(ConfigError) as caught:
        datamodule(tmp_path, "abcdefghij" * 10, block_size=16, val_fraction=0.1)
    assert str(caught.value).startswith("data.block_size=16 needs 17 tokens in every split, but the val split")
    assert "has 10 tokens" in str(caught.value) and "\n" not in str(caught.value)


def test_text_yaml_requires_path_and_shakespeare_yaml_reads_it_from_data_dir(tmp_path):
    with initialize_config_dir(str(CONF_DIR), version_base=None):
        text_cfg, shakespeare_cfg = compose("text"), compose("shakespeare")
    context = {"seed": 3, "paths": {"data_dir": str(tmp_path), "cache_dir": str(tmp_path / "cache")}}
    with pytest.raises(MissingMandatoryValue, match="path"):
        instantiate(OmegaConf.merge(context, {"data": text_cfg}).data)
    module = instantiate(OmegaConf.merge(context, {"data": shakespeare_cfg}).data)
    expected = tmp_path / "tinyshakespeare" / "input.txt"
    assert type(module) is TextDataModule and module.path == expected and module.seed == 3
    assert (module.block_size, module.batch_size, module.cache_dir) == (256, 64, str(tmp_path / "cache"))
    with pytest.raises(DataError) as caught:
        module.setup()
    assert str(expected) in str(caught.value) and "paths.data_dir" in str(caught.value) and "\n" not in str(caught.value)


def test_real_tiny_shakespeare_has_65_chars_split_90_10(tmp_path):
    path = SHARED_DATA / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent (set GENLAB_DATA_DIR)")
    module = TextDataModule(str(path), cache_dir=str(tmp_path / "cache"))
    module.setup()
    assert module.vocab_size == 65
    assert module.describe()["split_chars"] == {"train": 1_003_854, "val": 111_540}
    assert module.describe()["split_tokens"] == {"train": 1_003_854, "val": 111_540}
