"""The bad-input catalogue, end to end through the real CLI: each case exits 2 with one line (stderr's last) naming
the key, file or value at fault, and leaves the outputs that already exist byte for byte as they were. Config
errors are caught before torch or Lightning is imported (docs/troubleshooting.md lists every case)."""
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO, run_dirs, train_in_process

ANY = "<...>"  # in an expected message: any text (a timestamped run dir)
TEXT = "".join(f"{name}:\nThe {thing} is {mood}.\n\n" for name, thing, mood in [
    ("ROMEO", "night", "young"), ("JULIET", "moon", "pale"), ("NURSE", "hour", "late")] * 30)
GPT = ["model=gpt", "model.n_layer=1", "model.n_head=2", "model.n_embd=16", "model.dropout=0.0"]
SMALL_TEXT_RUN = ["data=text", "data.block_size=16", "data.batch_size=4", "data.train_batches_per_epoch=2", *GPT,
                  "trainer.max_steps=2", "trainer.max_epochs=-1", "model.sample_tokens=4", "test=false",
                  "callbacks.rich_progress_bar=null"]
ON_CPU = "on CPU use trainer.precision=32-true or bf16-mixed and trainer=default, cpu or ddp_cpu"
TRAIN_KEYS = ("callbacks, ckpt_path, data, float32_matmul_precision, init_from, logger, metrics, model, optimized_metric, "
              "paths, resume, run_id, seed, tags, task_name, test, train, trainer")
SAMPLE_KEYS = ("ckpt_path, class_label, data, max_new_tokens, metrics, model, num_samples, paths, prompt, run_id, seed, "
               "task_name, temperature, top_k, top_p")
EVAL_KEYS = "ckpt_path, data, metrics, model, paths, run_id, seed, split, task_name, trainer"
EXPORT_KEYS = "ckpt_path, format, paths, run_id, task_name"


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file below `directory` (relative path → bytes)."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def assert_one_line(stderr: str, command: str, message: str, only_line: bool = False) -> None:
    """stderr's last line is `genlab-<command>: error: <message>` (ANY matching any text), and its only one if asked."""
    lines = stderr.strip().splitlines()
    pattern = ".+".join(map(re.escape, f"genlab-{command}: error: {message}".split(ANY)))
    assert lines and re.fullmatch(pattern, lines[-1]), stderr[-2000:]
    assert len(lines) == 1 or not only_line, stderr[-2000:]


@pytest.fixture(scope="module")
def existing(tmp_path_factory, cache_dir) -> dict[str, Path]:
    """Outputs that already exist: a small GPT run and a classifier run, and the text the GPT was trained on."""
    root = tmp_path_factory.mktemp("catalogue")
    (root / "play.txt").write_text(TEXT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_OUTPUT_DIR", str(root / "outputs"))
        patch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
        train_in_process(*SMALL_TEXT_RUN, f"data.path={root / 'play.txt'}")
        train_in_process("model=cnn_classifier", "debug=fdr")
    (gpt_run,) = run_dirs(root / "outputs", "gpt_text")
    (classifier_run,) = run_dirs(root / "outputs", "debug")
    return {"outputs": root / "outputs", "text": root / "play.txt", "gpt": gpt_run / "checkpoints" / "last.ckpt",
            "gpt_run": gpt_run, "classifier": classifier_run / "checkpoints" / "last.ckpt"}


@pytest.fixture
def outputs(existing, monkeypatch, output_dir) -> Path:
    """Every case writes (or would write) next to the existing runs."""
    monkeypatch.setenv("GENLAB_OUTPUT_DIR", str(existing["outputs"]))
    return existing["outputs"]


# ---- config errors: one line, nothing written, before torch/Lightning --------------------------------------------
def config_cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    """(command, arguments, message) of every bad-config case; `tmp` holds the files some of them name."""
    regular_file = tmp / "regular_file"
    return [
        ("train", ["model=nope"],
         ("unknown model option 'nope'; valid options: cnn_classifier, dcgan, gpt, image_gpt, "
          "lstm_classifier, mlp_gan, rnn_lm, transformer_classifier, vae")),
        ("train", ["seed=abc"], "seed: Value 'abc' of type 'str' could not be converted to Integer"),
        ("train", ["data.batch_size=abc"], "data.batch_size must be a positive number, got 'abc'"),
        ("train", ["data.batch_size=0"], "data.batch_size must be a positive number, got 0"),
        ("train", ["data=text", f"data.path={tmp}/play.txt", "data.tokenizer=word", *GPT],
         "data.tokenizer must be one of char, bpe, got 'word'"),
        ("train", ["float32_matmul_precision=low"],
         "float32_matmul_precision must be one of highest, high, medium, got 'low'"),
        ("eval", [], "ckpt_path is required: add ckpt_path=..."),
        ("sample", [], "ckpt_path is required: add ckpt_path=..."),
        ("sample", [f"ckpt_path={tmp}/any.ckpt", "num_samples=0"], "num_samples must be a positive number, got 0"),
        ("sample", [f"ckpt_path={tmp}/any.ckpt", "num_samples=-2"], "num_samples must be a positive number, got -2"),
        ("train", ["metrics.feature_net=inception", f"metrics.inception_weights={tmp}/pt_inception.pth"],
         f"metrics.inception_weights={tmp}/pt_inception.pth: file not found (download pt_inception-2015-12-05 there)"),
        ("train", ["trainer.max_epochs=-1"], ("trainer.max_epochs=-1 with trainer.max_steps=-1 trains forever: set "
                                              "trainer.max_steps, trainer.max_epochs >= 1 or trainer.max_time")),
        ("train", ["trainer.max_steps=0"],
         "trainer.max_steps must be a positive number of steps, or -1 for no step limit, got 0"),
        ("train", ["trainer.max_epochs=0"],
         "trainer.max_epochs must be a positive number of epochs, or -1 for no epoch limit, got 0"),
        ("train", ["callbacks.model_checkpoint.every_n_train_steps=5"],
         ("callbacks.model_checkpoint.every_n_train_steps=5 and every_n_epochs=1 exclude each other: add "
          "callbacks.model_checkpoint.every_n_epochs=null to keep every_n_train_steps")),
        ("train", ["model=gpt", "data=digits"], ("model.block_size needs data.block_size, which data=digits does not "
                                                "set: choose data that sets it, or set model.block_size yourself")),
        ("train", ["foo=1"], f"unknown config key 'foo'; top-level keys are: {TRAIN_KEYS}"),
        ("train", ["+foo=1"], f"unknown config key 'foo'; top-level keys are: {TRAIN_KEYS}"),
        ("train", ["sed=3"], f"unknown config key 'sed'; top-level keys are: {TRAIN_KEYS}; did you mean seed?"),
        ("sample", [f"ckpt_path={tmp}/any.ckpt", "num_sample=3"],
         f"unknown config key 'num_sample'; top-level keys are: {SAMPLE_KEYS}; did you mean num_samples?"),
        ("eval", [f"ckpt_path={tmp}/any.ckpt", "seeed=3"],
         f"unknown config key 'seeed'; top-level keys are: {EVAL_KEYS}; did you mean seed?"),
        ("export", [f"ckpt_path={tmp}/any.ckpt", "formatt=hf"],
         f"unknown config key 'formatt'; top-level keys are: {EXPORT_KEYS}; did you mean format?"),
        ("train", ["task_name=../../../x"],
         "task_name='../../../x' must be a plain name (no '/', '\\' or '..'): it names a directory under paths.output_dir"),
        ("train", ["run_id=../../x"],
         "run_id='../../x' must be a plain name (no '/', '\\' or '..'): it names a directory under paths.output_dir"),
        ("train", ["-m", "task_name=a/b"],
         "task_name='a/b' must be a plain name (no '/', '\\' or '..'): it names a directory under paths.output_dir"),
        ("eval", [f"ckpt_path={tmp}/any.ckpt", "run_id=.."],
         "run_id='..' must be a plain name (no '/', '\\' or '..'): it names a directory under paths.output_dir"),
        ("train", [f"paths.output_dir={regular_file}/outputs"],
         (f"cannot create or write {regular_file}/outputs/dcgan_digits/runs: Not a directory; "
          "set paths.output_dir (or the path named) to a directory genlab can write")),
    ]


# a model's own values: checked by the model as it is built (torch imported), still before anything is written
def model_value_cases(tmp: Path) -> list[tuple[list[str], str]]:
    return [
        (["model.latent_dim=-3"], "model.latent_dim must be an integer >= 1, got -3"),
        (["model.lr=0"], "model.lr must be a positive number, got 0"),
        (["model.lr=-0.1"], "model.lr must be a positive number, got -0.1"),
        (["model.lr=nan"], "model.lr must be a positive number, got nan"),
        (["model.lr=inf"], "model.lr must be a positive number, got inf"),
        (["model.lr_d=0"], "model.lr_d must be a positive number, got 0"),
        (["model.g_width=0"], "model.g_width must be an integer >= 1, got 0"),
        (["data=text", f"data.path={tmp}/play.txt", *GPT, "model.n_layer=0"],
         "model.n_layer must be an integer >= 1, got 0"),
        (["data=text", f"data.path={tmp}/play.txt", *GPT, "model.n_embd=30", "model.n_head=4"],
         "model.n_embd=30 must be divisible by model.n_head=4 (each head gets n_embd/n_head dims)"),
    ]


@pytest.mark.parametrize("index", range(len(model_value_cases(Path("/t")))),
                         ids=[" ".join(a)[-40:] for a, _ in model_value_cases(Path("/t"))])
def test_a_bad_model_value_is_one_line_from_the_model_and_writes_nothing(run_cli, outputs, config_tmp, index):
    args, message = model_value_cases(config_tmp)[index]
    (config_tmp / "play.txt").write_text("To be, or not to be: that is the question.\n" * 800)
    before = files_of(outputs)
    result = run_cli("train", *args)
    assert result.exit_code == 2
    assert_one_line(result.stderr, "train", message, only_line=True)
    assert files_of(outputs) == before


# caught before anything is built, but after importing the class a group builds (its signature is the schema)
SIGNATURE_CASES = [
    (["trainer.max_epochs=abc"], "trainer.max_epochs must be an integer or null, got 'abc'"),
    (["data.batch_size=1.5"], "data.batch_size must be an integer, got 1.5"),
    (["trainer.precision=bf16-mix"],
     ("trainer.precision must be one of 64, 32, 16, transformer-engine, transformer-engine-float16, 16-true, "
      "16-mixed, bf16-true, bf16-mixed, 32-true, 64-true, bf16 or null, got 'bf16-mix'")),
    (["trainer.foo=1"], "unknown config key 'trainer.foo': Trainer has no parameter foo"),
    (["+trainer.foo=1"], "unknown config key 'trainer.foo': Trainer has no parameter foo"),
    (["trainer.benchmarc=true"],
     "unknown config key 'trainer.benchmarc': Trainer has no parameter benchmarc; did you mean benchmark?"),
    (["trainer.benchmark=true"], "unknown config key 'trainer.benchmark' (add it with +trainer.benchmark=...)"),
    (["+model.foo=3"], "unknown config key 'model.foo': DCGAN has no parameter foo"),
    (["metrics.foo=1"], "unknown config key 'metrics.foo': SampleQuality has no parameter foo"),
]


@pytest.mark.parametrize(("args", "message"), SIGNATURE_CASES, ids=[" ".join(a) for a, _ in SIGNATURE_CASES])
def test_a_key_its_class_does_not_take_or_a_value_of_the_wrong_type_is_one_line(run_cli, outputs, args, message):
    before = files_of(outputs)
    result = run_cli("train", *args)
    assert result.exit_code == 2
    assert_one_line(result.stderr, "train", message, only_line=True)
    assert files_of(outputs) == before


def test_suggested_additions_work(run_cli, output_dir):
    result = run_cli("train", "+trainer.benchmark=false", "debug=fdr", "metrics=none")
    assert result.exit_code == 0, result.stderr


GPU_CASES = [  # these ask torch whether CUDA is there, but never import Lightning
    ("train", ["trainer=ddp"], f"trainer.accelerator=gpu needs a GPU (no CUDA device is available); {ON_CPU}"),
    ("train", ["trainer.precision=16-mixed"], f"trainer.precision=16-mixed needs a GPU (no CUDA device is available); {ON_CPU}"),
]
no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")


@pytest.fixture
def config_tmp(tmp_path) -> Path:
    (tmp_path / "regular_file").write_text("a file, not a directory\n")
    return tmp_path


@pytest.mark.parametrize("index", range(len(config_cases(Path("/t")))),
                         ids=[f"{c}:{' '.join(a)[-40:]}" for c, a, _ in config_cases(Path("/t"))])
def test_config_error_is_one_line_naming_the_key_and_writes_nothing(run_cli, outputs, config_tmp, index):
    command, args, message = config_cases(config_tmp)[index]
    before = files_of(outputs)
    result = run_cli(command, *args)
    assert result.exit_code == 2
    assert_one_line(result.stderr, command, message, only_line=True)
    assert files_of(outputs) == before  # nothing new, nothing changed
    assert (config_tmp / "regular_file").read_text() == "a file, not a directory\n"


@no_gpu
@pytest.mark.parametrize(("command", "args", "message"), GPU_CASES, ids=["ddp", "16-mixed"])
def test_gpu_only_setting_on_a_machine_without_gpus_is_one_line(run_cli, outputs, command, args, message):
    before = files_of(outputs)
    result = run_cli(command, *args)
    assert result.exit_code == 2
    assert_one_line(result.stderr, command, message, only_line=True)
    assert files_of(outputs) == before


PROBE = """
import json, sys, time
report = []
for command, args in json.loads(sys.argv[1]):
    main = __import__(f"genlab.{command}", fromlist=["main"]).main
    sys.argv = [f"genlab-{command}", *args]
    start = time.perf_counter()
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    report.append({"code": code, "seconds": time.perf_counter() - start,
                   "torch": "torch" in sys.modules, "lightning": "lightning" in sys.modules})
print(json.dumps(report))
"""


@no_gpu
def test_config_errors_are_caught_before_torch_and_gpu_checks_before_lightning(config_tmp, output_dir):
    cases = [(command, args) for command, args, _ in config_cases(config_tmp)] + [(c, a) for c, a, _ in GPU_CASES]
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(cases)], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert [entry["code"] for entry in report] == [2] * len(cases), result.stderr[-2000:]
    assert not any(entry["torch"] for entry in report[: -len(GPU_CASES)]), report
    assert not any(entry["lightning"] for entry in report) and max(entry["seconds"] for entry in report) < 5, report


# ---- data errors: one line naming the file, existing runs untouched -----------------------------------------------
def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes() + array.tobytes()


def mnist_dir(root: Path, images: bytes) -> Path:
    """A data dir whose mnist/ holds t10k labels (10 of them) and the given images file contents."""
    (root / "mnist").mkdir(parents=True)
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(images)
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8))))
    return root


def data_cases(tmp: Path) -> dict[str, tuple[list[str], str]]:
    images = tmp / "{}" / "mnist" / "t10k-images-idx3-ubyte.gz"
    text_run = [*SMALL_TEXT_RUN[1:]]
    return {
        "missing_data_dir": (["data=mnist", f"paths.data_dir={tmp}/nowhere", "debug=fdr"],
                             (f"MNIST files missing from {tmp}/nowhere/mnist: t10k-images-idx3-ubyte.gz, t10k-labels-"
                              "idx1-ubyte.gz; copy them there, or set data.download=true to fetch them when online")),
        "truncated_idx": (["data=mnist", f"paths.data_dir={tmp}/truncated", "debug=fdr"],
                          f"MNIST file {str(images).format('truncated')} is truncated: expected 7840 bytes of data, found 7740"),
        "corrupt_idx": (["data=mnist", f"paths.data_dir={tmp}/corrupt", "debug=fdr"],
                        (f"MNIST file {str(images).format('corrupt')} is unreadable (Not a gzipped file (b'ga')); "
                         "delete it and fetch it again")),
        "missing_text": (["data=text", f"data.path={tmp}/missing.txt", *text_run],
                         f"text file {tmp}/missing.txt does not exist; set data.path to a UTF-8 text file"),
        "empty_text": (["data=text", f"data.path={tmp}/empty.txt", *text_run], f"text file {tmp}/empty.txt is empty"),
        "short_text": (["data=text", f"data.path={tmp}/short.txt", *text_run],
                       (f"data.block_size=16 needs 17 tokens in every split, but the train split of {tmp}/short.txt "
                        "has 9 tokens; lower data.block_size or give it more text")),
        "image_size": (["model.image_size=30", "debug=fdr"],
                       "model.image_size=30 cannot be produced by the DCGAN: use s*2^k with 3 <= s <= 7 (16, 28, 32, 64)"),
    }


@pytest.mark.parametrize("case", list(data_cases(Path("/t"))))
def test_bad_data_or_model_size_is_one_line_naming_the_file_or_key_before_the_config_tree(run_cli, outputs, tmp_path, case):
    images = np.zeros((10, 28, 28), np.uint8)
    mnist_dir(tmp_path / "truncated", gzip.compress(idx_bytes(images)[:-100]))
    mnist_dir(tmp_path / "corrupt", b"garbage, not gzip")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "short.txt").write_text("short text\n")  # 11 characters: a 9-character train split
    args, message = data_cases(tmp_path)[case]
    before = files_of(outputs)
    result = run_cli("train", *args)
    assert result.exit_code == 2
    assert_one_line(result.stderr, "train", message)
    assert result.stdout == ""  # the error comes before the config tree, not after 150 lines of it
    after = files_of(outputs)
    assert {key: after[key] for key in before} == before  # only the new (failed) run's own files were added


# ---- checkpoints of existing runs: refused in one line, the run left as it was ------------------------------------
def test_resume_with_another_vocabulary_is_refused_before_the_run_is_touched(run_cli, outputs, existing, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text(TEXT.upper(), encoding="utf-8")
    run = existing["gpt_run"]
    before = files_of(outputs)
    result = run_cli("train", *SMALL_TEXT_RUN, f"data.path={other}", f"resume={run}", "ckpt_path=last",
                     "trainer.max_steps=4")
    assert result.exit_code == 2
    vocabulary = len(set(TEXT))
    assert_one_line(result.stderr, "train", (
        f"resume={run}: this config's data gives a {len(set(TEXT.upper()))}-token char vocabulary, but {existing['gpt']} "
        f"was trained on a {vocabulary}-token char vocabulary; resume with the run's own data settings "
        f"(its overrides are in {run}/run_info.json)"))
    assert files_of(outputs) == before  # metrics.csv, checkpoints, run_info.json, .hydra/ alike


@pytest.mark.parametrize("command", ["eval", "sample"])
def test_a_checkpoint_of_another_model_type_is_refused_in_one_line(run_cli, outputs, existing, command):
    before = files_of(outputs)
    result = run_cli(command, f"ckpt_path={existing['gpt']}", "model=dcgan")
    assert result.exit_code == 2
    assert_one_line(result.stderr, command, f"{existing['gpt']} holds a GPTLanguageModel checkpoint, not a DCGAN: "
                                            "leave out model=... (the checkpoint's own model is rebuilt)")
    assert files_of(outputs) == before


def test_sampling_a_classifier_checkpoint_is_refused_in_one_line(run_cli, outputs, existing):
    before = files_of(outputs)
    result = run_cli("sample", f"ckpt_path={existing['classifier']}")
    assert result.exit_code == 2
    assert_one_line(result.stderr, "sample", f"ckpt_path={existing['classifier']} holds a CNNClassifier, which "
                                             "cannot sample: give the checkpoint of a generative model")
    assert files_of(outputs) == before


def test_a_prompt_with_characters_outside_the_vocabulary_names_the_prompt_and_the_character(run_cli, outputs, existing):
    before = files_of(outputs)
    result = run_cli("sample", f"ckpt_path={existing['gpt']}", "prompt=ROMEO:Qx", "max_new_tokens=5")
    assert result.exit_code == 2
    assert_one_line(result.stderr, "sample", f"prompt='ROMEO:Qx': character 'Q' is not in the {len(set(TEXT))}-character "
                                             "vocabulary; the model knows only its training text's characters", only_line=True)
    assert files_of(outputs) == before


def test_a_missing_checkpoint_file_is_named(run_cli, outputs, existing):
    missing = existing["gpt_run"] / "checkpoints" / "nope.ckpt"
    before = files_of(outputs)
    for command in ("eval", "sample"):
        result = run_cli(command, f"ckpt_path={missing}")
        assert result.exit_code == 2
        assert_one_line(result.stderr, command, f"ckpt_path={missing}: no such checkpoint file", only_line=True)
    assert files_of(outputs) == before
