"""Pre-train, then fine-tune: init_from starts a new run from a checkpoint's weights (its architecture and tokenizer),
LoRA trains only adapters whose small checkpoints point to their base, resumes exactly, merges for sampling and
export, and a GPT exports to a Hugging Face GPT-2 directory that gives the same logits and greedy text."""
import csv
import json
import shutil

import pytest
import torch

import genlab
from conftest import read_run_info, run_dirs, train_in_process
from genlab.data.text_selection import select_text
from genlab.errors import ConfigError, DataError
from genlab.networks.lora import LoRALinear
from helpers.text_runs import TEXT

SPEECHES = r"(?ms)^JULIET:\n.*?(?:\n\n|\Z)"
TINY_GPT = ["model=gpt", "model.n_layer=2", "model.n_head=2", "model.n_embd=64", "model.dropout=0.0"]


def lm_run(text_file, *extra: str) -> list[str]:
    return ["data=text", f"data.path={text_file}", "data.block_size=32", "data.batch_size=8",
            "data.train_batches_per_epoch=5", *TINY_GPT, "model.warmup_steps=2", "model.sample_tokens=8",
            "trainer.max_steps=10", "trainer.max_epochs=-1", "trainer.log_every_n_steps=1", "test=false",
            "metrics=none", "callbacks.rich_progress_bar=null", "optimized_metric=val/loss", *extra]


def column(run_dir, key: str) -> list[tuple[int, float]]:
    return [(int(row["step"]), float(row[key])) for row in csv.DictReader((run_dir / "metrics.csv").open()) if row.get(key)]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, cache_dir):
    """A GPT pre-trained on the play without Juliet's speeches, and the play's file."""
    root = tmp_path_factory.mktemp("pretrained")
    text_file = root / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_OUTPUT_DIR", str(root / "outputs"))
        patch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
        train_in_process(*lm_run(text_file, f"data.exclude='{SPEECHES}'", "task_name=pre", "trainer.max_steps=20"))
    (run_dir,) = run_dirs(root / "outputs", "pre")
    return run_dir, text_file


def fine_tune(run_cli, output_dir, pretrained, name: str, *extra: str) -> tuple[int, object]:
    run_dir, text_file = pretrained
    result = run_cli("train", *lm_run(text_file, f"data.only='{SPEECHES}'", f"init_from={run_dir}",
                                      "data.unknown_char=' '", f"task_name={name}", *extra))
    return result, (run_dirs(output_dir, name) or [None])[-1]


def test_text_selection_by_regex_and_by_character_range():
    text = "ROMEO:\nO night.\n\nJULIET:\nAy me.\n\nROMEO:\nShe speaks.\n\n"
    assert select_text(text, only=r"(?ms)^ROMEO:\n.*?\n\n") == "ROMEO:\nO night.\n\nROMEO:\nShe speaks.\n\n"
    assert select_text(text, exclude=r"(?ms)^ROMEO:\n.*?\n\n") == "JULIET:\nAy me.\n\n"
    assert select_text(text, only=[0, 6]) == "ROMEO:" and select_text(text, exclude=[6, len(text)]) == "ROMEO:"
    with pytest.raises(DataError, match=r"data.only='NURSE' selects no text of the text"):
        select_text(text, only="NURSE")
    with pytest.raises(ConfigError, match=r"data.exclude='\(' is not a valid regular expression"):
        select_text(text, exclude="(")
    with pytest.raises(ConfigError, match=r"data.only must be a regular expression or a character range"):
        select_text(text, only=[5, 2])


def test_init_from_starts_a_new_run_from_the_checkpoints_weights_and_records_its_source(run_cli, output_dir, pretrained):
    from genlab.file_hash import file_sha256

    result, run_dir = fine_tune(run_cli, output_dir, pretrained, "full", "model.lr=3e-4")
    assert result.exit_code == 0, result.stderr
    source = pretrained[0] / "checkpoints"
    (best,) = source.glob("best-*.ckpt")  # a run dir gives its best checkpoint
    info = read_run_info(run_dir)
    assert info["init_from"] == {"path": str(best.resolve()), "sha256": file_sha256(best)}
    assert info["run_id"] != read_run_info(pretrained[0])["run_id"] and info["resumed_times"] == []
    assert column(run_dir, "train/loss")[0][0] == 0  # a fresh run: its own steps, optimizer and schedule
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["genlab"]["config"]["init_from"] == str(pretrained[0])
    assert checkpoint["genlab"]["data"]["tokenizer"] == torch.load(best, weights_only=True)["genlab"]["data"]["tokenizer"]
    evaluated = run_cli("eval", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "split=val")
    assert evaluated.exit_code == 0, evaluated.stderr  # the slice read in the checkpoint's vocabulary, not its own
    (report,) = run_dir.glob("evals/*/eval_metrics.json")
    assert json.loads(report.read_text())["metrics"]["val/loss"] == pytest.approx(column(run_dir, "val/loss")[-1][1])


def test_the_model_init_from_builds_holds_the_checkpoints_weights(pretrained, tmp_path):
    from omegaconf import OmegaConf

    from genlab.data.text import TextDataModule
    from genlab.init_from import InitialCheckpoint
    from genlab.models.build import instantiate_model

    initial = InitialCheckpoint(pretrained[0])
    composed = OmegaConf.create({"model": {**initial.meta["config"]["model"], "lr": 1e-4, "vocab_size": None}})
    model_config = initial.model_config(composed, [])
    assert model_config.lr == 1e-4 and model_config.vocab_size == initial.meta["config"]["model"]["vocab_size"]
    model = instantiate_model(model_config)
    datamodule = TextDataModule(str(pretrained[1]), block_size=32, batch_size=8, only=SPEECHES, unknown_char=" ",
                                cache_dir=str(tmp_path / "cache"))
    initial.prepare_data(datamodule)
    datamodule.setup()
    initial.load_into(model, datamodule)
    for key, value in initial.checkpoint["state_dict"].items():
        assert torch.equal(model.state_dict()[key], value), key


def test_init_from_with_an_architecture_key_changed_on_the_command_line_fails_naming_it(run_cli, output_dir, pretrained):
    (best,) = (pretrained[0] / "checkpoints").glob("best-*.ckpt")
    result, run_dir = fine_tune(run_cli, output_dir, pretrained, "wider", "model.n_embd=128")
    assert result.exit_code == 2 and run_dir is None
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-train: error: init_from={best.resolve()}: model.n_embd=128 changes the model's weight shapes (the "
        "checkpoint has model.n_embd=64); leave it out: the architecture comes from the checkpoint")


def test_fine_tuning_text_with_characters_outside_the_vocabulary_names_them_or_maps_them(
        run_cli, output_dir, pretrained, tmp_path):
    text_file = tmp_path / "other.txt"
    text_file.write_text("JULIET:\nQuick, zephyr!\n\n" * 40, encoding="utf-8")
    run_dir, _ = pretrained
    args = lm_run(text_file, f"init_from={run_dir}", "task_name=other")
    result = run_cli("train", *args)
    assert result.exit_code == 2
    vocabulary = set(select_text(TEXT, exclude=SPEECHES))
    unknown = sorted(set(text_file.read_text()) - vocabulary)
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-train: error: {len(unknown)} characters of {text_file} are not in the checkpoint's {len(vocabulary)}-"
        f"character vocabulary: {' '.join(map(repr, unknown))}; take them out (data.only, data.exclude) or set "
        "data.unknown_char=<one of its characters> to map them to it")
    assert run_cli("train", *args, "data.unknown_char=' '").exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["resume={run}"], "init_from starts a new run from a checkpoint's weights and resume= continues a run: give one"),
    (["model.lora.rank=4"], None),
])
def test_init_from_and_lora_misuse_is_one_line(run_cli, output_dir, pretrained, args, message):
    run_dir, text_file = pretrained
    args = [arg.format(run=run_dir) for arg in args]
    if message is None:  # LoRA without a base to adapt
        result = run_cli("train", *lm_run(text_file, *args))
        message = "model.lora.rank=4 trains adapters on a pretrained model's frozen weights: give init_from=<checkpoint or run dir>"
    else:
        result = run_cli("train", *lm_run(text_file, f"init_from={run_dir}", *args))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == f"genlab-train: error: {message}"


def test_lora_trains_only_its_adapters_saves_a_small_checkpoint_and_merges_for_sampling(run_cli, output_dir, pretrained):
    result, run_dir = fine_tune(run_cli, output_dir, pretrained, "lora", "model.lora.rank=2", "model.lr=3e-3")
    assert result.exit_code == 0, result.stderr
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert set(checkpoint["state_dict"]) == {key for key in checkpoint["state_dict"] if ".lora_" in key}
    base = checkpoint["genlab"]["lora_base"]
    assert base["path"] == str(next((pretrained[0] / "checkpoints").glob("best-*.ckpt")).resolve())
    full = (pretrained[0] / "checkpoints" / "last.ckpt").stat().st_size
    assert (run_dir / "checkpoints" / "last.ckpt").stat().st_size < 0.1 * full
    adapters = 2 * 2 * ((64 + 192) + (64 + 64) + (64 + 256) + (256 + 64))  # layers x rank x (in + out) per target
    from genlab.init_from import InitialCheckpoint
    from genlab.models.build import instantiate_model

    model = instantiate_model(InitialCheckpoint(run_dir / "checkpoints" / "last.ckpt").meta["config"]["model"])
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == adapters
    assert sum(isinstance(module, LoRALinear) for module in model.modules()) == 2 * 4
    loaded = genlab.load(run_dir / "checkpoints" / "last.ckpt")
    assert not any(isinstance(module, LoRALinear) for module in loaded.modules())  # merged
    texts = loaded.generate("\n", max_new_tokens=20, seed=3)
    assert len(texts[0]) == 21
    sampled = run_cli("sample", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "max_new_tokens=20", "seed=3")
    assert sampled.exit_code == 0 and texts[0] in sampled.stdout


def test_a_lora_run_resumes_exactly(run_cli, output_dir, pretrained):
    schedule = ["model.lora.rank=2", "model.lr=3e-3", "model.lr_decay_steps=20", "trainer.max_steps=20"]
    result, reference = fine_tune(run_cli, output_dir, pretrained, "lora_whole", *schedule)
    assert result.exit_code == 0, result.stderr
    result, stopped = fine_tune(run_cli, output_dir, pretrained, "lora_halves", *schedule[:-1], "trainer.max_steps=10")
    assert result.exit_code == 0, result.stderr
    run_dir, text_file = pretrained
    resumed = run_cli("train", *lm_run(text_file, f"data.only='{SPEECHES}'", "data.unknown_char=' '",
                                       "task_name=lora_halves", f"resume={stopped}", *schedule))
    assert resumed.exit_code == 0, resumed.stderr
    assert column(stopped, "train/loss") == column(reference, "train/loss")
    assert column(stopped, "val/loss") == column(reference, "val/loss")


def test_lora_adapters_refuse_a_changed_base_and_a_merged_export_needs_none(run_cli, output_dir, pretrained, tmp_path):
    result, run_dir = fine_tune(run_cli, output_dir, pretrained, "lora_export", "model.lora.rank=2")
    assert result.exit_code == 0, result.stderr
    adapters = run_dir / "checkpoints" / "last.ckpt"
    exported = run_cli("export", f"ckpt_path={adapters}", "format=genlab")
    assert exported.exit_code == 0, exported.stderr
    (plain,) = (run_dir / "exports").glob("*/model.ckpt")
    merged, standalone = genlab.load(adapters), genlab.load(plain)
    tokens = torch.randint(0, merged.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(standalone.network(tokens), merged.network(tokens))
    assert torch.load(plain, weights_only=True)["genlab"]["config"]["model"]["lora"] is None
    base = next((pretrained[0] / "checkpoints").glob("best-*.ckpt"))
    saved = tmp_path / "base.ckpt"
    shutil.copy(base, saved)
    try:
        torch.save({**torch.load(base, weights_only=True), "note": "changed"}, base)
        result = run_cli("sample", f"ckpt_path={adapters}")
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines()[-1] == (
            f"genlab-sample: error: {adapters} holds LoRA adapters for {base.resolve()}, which has changed since (its "
            "sha256 differs): the adapters fit only the original base checkpoint")
        genlab.load(plain)  # the merged export stands alone
    finally:
        shutil.copy(saved, base)


@pytest.mark.parametrize("tokenizer", ["char", "bpe"])
def test_a_gpt_exported_to_hugging_face_gives_the_same_logits_and_greedy_text(run_cli, output_dir, tmp_path, tokenizer):
    from transformers import AutoTokenizer, GPT2LMHeadModel

    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    extra = ["data.tokenizer=bpe", "data.vocab_size=300"] if tokenizer == "bpe" else []
    assert run_cli("train", *lm_run(text_file, *extra, "model.bias=true")).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    result = run_cli("export", f"ckpt_path={ckpt}", "format=hf")
    assert result.exit_code == 0, result.stderr
    (hf_dir,) = (run_dir / "exports").iterdir()
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {p.name for p in hf_dir.iterdir()}
    model, hf_model = genlab.load(ckpt), GPT2LMHeadModel.from_pretrained(hf_dir).eval()
    hf_tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    prompt = "ROMEO:\nThe night"
    ids = model.text_tokenizer().encode(prompt)
    assert hf_tokenizer(prompt)["input_ids"] == ids and hf_tokenizer.decode(ids) == prompt
    tokens = torch.tensor([ids])
    with torch.no_grad():
        assert (hf_model(tokens).logits - model.network(tokens)).abs().max() < 1e-4
    greedy = hf_model.generate(tokens, do_sample=False, max_new_tokens=12)
    assert hf_tokenizer.decode(greedy[0]) == model.generate(prompt, max_new_tokens=12, temperature=0)[0]


def test_export_of_a_model_that_is_not_a_gpt_to_hugging_face_is_refused(run_cli, trained_run):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    result = run_cli("export", f"ckpt_path={ckpt}", "format=hf")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-export: error: ckpt_path={ckpt} holds a DCGAN; format=hf exports GPT language models (format=genlab "
        "exports any)")


def test_export_to_hugging_face_of_a_gpt_with_rotary_positions_is_refused_naming_the_option(run_cli, output_dir,
                                                                                          text_file):
    from helpers.text_runs import lm_args

    assert run_cli("train", *lm_args(text_file, "gpt", "trainer.max_steps=2", "model.network.rope=true")).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    result = run_cli("export", f"ckpt_path={ckpt}", "format=hf")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"genlab-export: error: ckpt_path={ckpt}: GPT-2 has no equivalent of model.network.rope=True; format=hf "
        "exports nanoGPT-style GPTs (format=genlab exports any)")


@pytest.mark.parametrize("experiment", ["dcgan_digits", "vae_digits", "cnn_digits"])
def test_init_from_fine_tunes_gans_vaes_and_classifiers_from_their_checkpoints_weights(
        run_cli, output_dir, experiment):
    from hydra.utils import instantiate

    from genlab.config.compose import compose_run
    from genlab.init_from import InitialCheckpoint
    from genlab.models.build import instantiate_model

    short = [f"experiment={experiment}", "trainer.max_steps=3", "trainer.max_epochs=-1", "metrics=none", "test=false",
             "callbacks.rich_progress_bar=null"]
    assert run_cli("train", *short, "task_name=pre").exit_code == 0
    (source,) = run_dirs(output_dir, "pre")
    result = run_cli("train", *short, "task_name=tuned", f"init_from={source}")
    assert result.exit_code == 0, result.stderr
    (tuned,) = run_dirs(output_dir, "tuned")
    assert read_run_info(tuned)["init_from"]["path"].startswith(str(source.resolve()))

    initial, cfg = InitialCheckpoint(source), compose_run(short)
    model = instantiate_model(initial.model_config(cfg, []))
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    initial.load_into(model, datamodule)
    trained = initial.checkpoint["state_dict"]
    assert trained and all(torch.equal(model.state_dict()[key], value) for key, value in trained.items())
    fresh = instantiate_model(initial.model_config(cfg, [])).state_dict()
    assert not all(torch.equal(fresh[key], value) for key, value in trained.items())  # a fresh model differs: the weights came from the checkpoint
