"""A run that crashes mid-epoch and is resumed from its last checkpoint logs exactly what an uninterrupted run logs:
same steps (none repeated, none skipped), same losses and metrics — data order, RNG, optimizer and EMA restored."""
import csv

import pytest
import torch

from conftest import FAST, run_dirs
from genlab.models.gan import GANModule
from genlab.models.language_model import LanguageModel
from helpers.text_runs import lm_args

GAN_RUN = [*FAST, "trainer.max_epochs=3", "trainer.limit_train_batches=6", "model.ema_decay=0.9", "test=false"]
CHECKPOINT_EVERY_4 = ["callbacks.model_checkpoint.every_n_train_steps=4", "callbacks.model_checkpoint.every_n_epochs=null"]
COMPARED = ("train/g_loss", "train/d_loss", "val/fid", "val/kid_mean", "train/loss", "val/loss")


def metric_rows(run_dir) -> list[tuple]:
    """(step, column, value) of every loss/metric value in metrics.csv, in file order."""
    rows = csv.DictReader((run_dir / "metrics.csv").open())
    return [(row["step"], key, row[key]) for row in rows for key in COMPARED if row.get(key)]


def crash_at_step(monkeypatch, cls, method: str, step: int) -> None:
    original = getattr(cls, method)

    def crashing(self, *args, **kwargs):
        if self.global_step >= step:
            raise RuntimeError("simulated crash")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, crashing)


def crash_resume_and_compare(run_cli, output_dir, monkeypatch, args, task, crash, train_key, total_steps):
    assert run_cli("train", *args).exit_code == 0
    (reference,) = run_dirs(output_dir, task)
    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="simulated crash"):
        crash_at_step(patch, *crash)
        run_cli("train", *args, *CHECKPOINT_EVERY_4)
    (crashed,) = set(run_dirs(output_dir, task)) - {reference}  # names sort by second: both may share one
    checkpoint = torch.load(crashed / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 8  # the crash came at step 10, mid-epoch, two steps after the checkpoint
    logged = [int(step) for step, key, _ in metric_rows(crashed) if key == train_key]
    assert logged == list(range(10))  # rows 8 and 9 were logged after the checkpoint

    result = run_cli("train", *args, *CHECKPOINT_EVERY_4, f"resume={crashed}", "ckpt_path=last")
    assert result.exit_code == 0, result.stderr
    resumed_rows = metric_rows(crashed)
    assert [int(step) for step, key, _ in resumed_rows if key == train_key] == list(range(total_steps))
    assert resumed_rows == metric_rows(reference)


def test_gan_resumed_mid_epoch_after_a_crash_logs_exactly_the_uninterrupted_runs_steps_and_values(
        run_cli, output_dir, monkeypatch):
    crash = (GANModule, "generator_step", 10)
    crash_resume_and_compare(run_cli, output_dir, monkeypatch, GAN_RUN, "dcgan_digits", crash, "train/g_loss", 18)


def test_gpt_with_dropout_resumed_mid_epoch_after_a_crash_logs_exactly_the_uninterrupted_runs_values(
        run_cli, output_dir, monkeypatch, text_file):
    args = [*lm_args(text_file, "gpt", "trainer.max_steps=24", "model.dropout=0.2")]
    crash = (LanguageModel, "training_step", 10)
    crash_resume_and_compare(run_cli, output_dir, monkeypatch, args, "gpt_text", crash, "train/loss", 24)


@pytest.fixture
def text_file(tmp_path):
    from helpers.text_runs import TEXT

    path = tmp_path / "play.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_gpt_with_muon_wsd_and_every_network_option_resumed_after_a_crash_logs_exactly_the_uninterrupted_runs_values(
        run_cli, output_dir, monkeypatch, text_file):
    options = ["model.network.rope=true", "model.network.norm=rmsnorm", "model.network.qk_norm=true",
               "model.network.mlp=swiglu", "model.network.tie_embeddings=false", "model.network.zero_init=true",
               "model.network.logit_softcap=30", "model.optimizer=muon", "model.schedule=wsd"]
    args = [*lm_args(text_file, "gpt", "trainer.max_steps=24", *options)]
    crash = (LanguageModel, "training_step", 10)
    crash_resume_and_compare(run_cli, output_dir, monkeypatch, args, "gpt_text", crash, "train/loss", 24)
