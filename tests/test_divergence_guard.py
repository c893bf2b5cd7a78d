"""A non-finite loss (or parameter) in any model family stops the run in one line naming it and the step; the last
good checkpoint stays.

Each case lets a real NaN flow from step NAN_STEP on (the NAN_STEP-th optimizer update, which `global_step` counts
after it): poisoned inputs or gradients go through forward, backward and the optimizer. Checkpoints are written
every CHECKPOINT_EVERY steps, so NAN_STEP is itself a checkpoint step: the run must keep the one before it.
"""
import math

import pytest
import torch

from conftest import FAST, read_run_info, run_dirs
from genlab.models.gan import GANModule
from genlab.models.language_model import LanguageModel
from genlab.models.vae import VAEModule
from helpers.text_runs import TEXT, lm_args

NAN_STEP, CHECKPOINT_EVERY = 6, 3
CHECKPOINTS = [f"callbacks.model_checkpoint.every_n_train_steps={CHECKPOINT_EVERY}",
               "callbacks.model_checkpoint.every_n_epochs=null", "metrics=none"]
NAN = float("nan")


def poison_from_step(monkeypatch, cls, method: str, poison) -> None:
    """From update NAN_STEP on, `cls.method` runs on `poison(self, *args)`."""
    original = getattr(cls, method)

    def poisoned(self, *args):
        if self.global_step + 1 >= NAN_STEP:  # global_step counts the updates done before this one
            args = poison(self, *args)
        return original(self, *args)

    monkeypatch.setattr(cls, method, poisoned)


def nan_fakes_into_generator_loss(monkeypatch):
    """The discriminator trains on finite fakes, the generator's update sees NaN ones: only g_loss is NaN."""
    poison_from_step(monkeypatch, GANModule, "generator_step",
                     lambda self, fake, labels, optimizer: (fake * NAN, labels, optimizer))


def nan_reals_into_discriminator_loss(monkeypatch):
    """NaN reals: d_loss is NaN first (the generator's loss follows through the NaN-updated discriminator)."""
    poison_from_step(monkeypatch, GANModule, "discriminator_step",
                     lambda self, real, fake, labels, optimizer: (real * NAN, fake, labels, optimizer))


def nan_vae_encoder_weight(monkeypatch):
    """A NaN weight in the first encoder layer: the forward pass itself produces the NaN loss."""

    def poison(self, batch, batch_idx):
        with torch.no_grad():
            next(self.encoder.parameters()).view(-1)[0] = NAN
        return batch, batch_idx

    poison_from_step(monkeypatch, VAEModule, "training_step", poison)


def nan_lm_embedding(monkeypatch):
    """A NaN in the embedding row of the first input token: the LM's forward produces the NaN loss."""

    def poison(self, batch, batch_idx):
        with torch.no_grad():
            next(self.network.parameters())[batch[0][0, 0]] = NAN  # both networks start with the token embedding
        return batch, batch_idx

    poison_from_step(monkeypatch, LanguageModel, "training_step", poison)


FAMILIES = {  # case: (task name, the loss the message names, poison, CLI args or the LM of a text run)
    "gan_generator": ("dcgan_digits", "g_loss (generator)", nan_fakes_into_generator_loss, FAST),
    "gan_discriminator": ("dcgan_digits", "d_loss (discriminator)", nan_reals_into_discriminator_loss, FAST),
    "vae": ("vae_digits", "loss", nan_vae_encoder_weight, ["model=vae", *FAST]),
    "gpt": ("gpt_text", "loss", nan_lm_embedding, "gpt"),
    "rnn_lm": ("rnn_lm_text", "loss", nan_lm_embedding, "lstm"),
}


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "play.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def assert_stopped_with(result, output_dir, task_name: str, what: str, last_good_step: int) -> None:
    """Exit 2 with `what` in one line, run marked failed, last.ckpt from `last_good_step` with finite weights."""
    message = f"training diverged: {what} (the last good checkpoint is kept)"
    assert result.exit_code == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == f"genlab-train: error: {message}"
    (run_dir,) = run_dirs(output_dir, task_name)
    info = read_run_info(run_dir)
    assert info["status"] == "failed" and message in info["error"]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == last_good_step
    assert all(torch.isfinite(value).all() for value in checkpoint["state_dict"].values() if value.is_floating_point())


@pytest.mark.parametrize("family", list(FAMILIES))
def test_nan_loss_in_each_family_stops_the_run_naming_loss_and_step_and_keeps_last_good_checkpoint(
        run_cli, output_dir, monkeypatch, text_file, family):
    task_name, loss, poison, args = FAMILIES[family]
    poison(monkeypatch)
    args = lm_args(text_file, args) if isinstance(args, str) else args  # a 20-step run, first validation at 10
    result = run_cli("train", *args, *CHECKPOINTS)
    assert_stopped_with(result, output_dir, task_name, f"train/{loss} = nan at step {NAN_STEP}",
                        NAN_STEP - CHECKPOINT_EVERY)


def nan_gradients_at_nan_step(monkeypatch) -> None:
    """Backward overflows at update NAN_STEP while the loss stays finite: every weight is NaN after it."""
    original = VAEModule.training_step

    def nan_gradients(self, batch, batch_idx):
        loss = original(self, batch, batch_idx)
        if self.global_step + 1 == NAN_STEP:
            assert math.isfinite(float(loss.detach()))
            loss.register_hook(lambda grad: grad * NAN)
        return loss

    monkeypatch.setattr(VAEModule, "training_step", nan_gradients)


# logging every step: found right after the update; logging every 50 steps: found as the step-6 checkpoint is built
# (before it is written); weights-only checkpoints skip that hook, so the guard then checks every step
@pytest.mark.parametrize("extra", [[], ["trainer.log_every_n_steps=50"],
                                   ["trainer.log_every_n_steps=50", "+callbacks.model_checkpoint.save_weights_only=true"]],
                         ids=["every_step_logged", "sparse_logging", "weights_only_checkpoints"])
def test_finite_loss_with_nan_gradients_stops_the_run_naming_the_parameter(run_cli, output_dir, monkeypatch, extra):
    nan_gradients_at_nan_step(monkeypatch)
    result = run_cli("train", "model=vae", *FAST, *CHECKPOINTS, *extra)
    first_parameter = "encoder.hidden.0.weight"  # every gradient is NaN: the message names the first parameter
    assert_stopped_with(result, output_dir, "vae_digits", f"parameter {first_parameter} = nan after step {NAN_STEP}",
                        NAN_STEP - CHECKPOINT_EVERY)
