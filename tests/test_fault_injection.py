"""Crash safety under kill -9: a run SIGKILLed at any moment after its first checkpoint resumes to the uninterrupted
run's final step, loses at most one checkpoint interval, never leaves a corrupt checkpoint, and ends with metrics
within run-to-run noise (scripts/fault_injection.py does the killing and the checks)."""
import os
import sys
from dataclasses import replace

import pytest

from conftest import REPO, SHARED_DATA

sys.path.insert(0, str(REPO / "scripts"))  # the script and its fault_processes module, as `python scripts/...` sees them
import fault_injection  # noqa: E402

# 2 epochs x 12 batches = 24 steps, last.ckpt every 4, no FID: a reference, a killed run and its resume in ~25 s.
TINY_DCGAN = replace(
    fault_injection.MODELS["dcgan"], checkpoint_every=4, final_metric="val/d_loss",
    compared=("train/g_loss", "train/d_loss", "val/d_loss"),
    overrides=("experiment=dcgan_digits", "trainer.max_epochs=2", "trainer.limit_train_batches=12",
               "trainer.limit_val_batches=1", "metrics.feature_net=null", "test=false"),
)


# the same run saving as the default callbacks do: best-*.ckpt (by val/d_loss), then last.ckpt, after each epoch
TINY_DCGAN_EPOCHS = replace(TINY_DCGAN, checkpoint_every=12, epoch_checkpoints=True,
                            overrides=(*TINY_DCGAN.overrides, "optimized_metric=val/d_loss"))


def tiny_dcgan_trial(output_dir, tmp_path, setup=TINY_DCGAN, **kill):
    """One tiny DCGAN trial against one same-seed reference (no noise allowance: only exact values pass)."""
    workdir = tmp_path / "fault"

    def env_for(out):
        return fault_injection.subprocess_env(out, output_dir / "cache", data_dir=None)

    reference = fault_injection.reference_runs(setup, env_for, workdir, log=lambda line: None, count=1)
    trial = fault_injection.run_trial(setup, reference, "00", env_for(workdir / "trial"), workdir / "trial", **kill)
    return trial, fault_injection.format_row(trial)


def test_a_kill_inside_the_first_save_of_last_ckpt_resumes_from_the_best_checkpoint_written_before_it(
        output_dir, tmp_path):
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, TINY_DCGAN_EPOCHS, targeted="first-save:0.5")
    assert trial.ok and trial.exact, row
    assert trial.temp_files == 1 and trial.checkpoint_step == 12 and trial.final_step == 24, row  # epoch 0's best


@pytest.mark.slow
def test_ten_kills_inside_the_first_save_of_last_ckpt_all_resume(output_dir, tmp_path):
    trials = fault_injection.run_fault_injection(["dcgan_epochs"], 10, seed=0, output_dir=tmp_path / "fault",
                                                 fault="first-save")
    assert len(trials) == 10 and all(trial.ok for trial in trials), fault_injection.format_table(trials)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_ten_runs_whose_disk_fills_up_fail_in_one_line_and_all_resume(output_dir, tmp_path):
    trials = fault_injection.run_fault_injection(["dcgan"], 10, seed=0, output_dir=tmp_path / "fault",
                                                 fault="disk-full")
    assert len(trials) == 10 and all(trial.ok for trial in trials), fault_injection.format_table(trials)


def test_dcgan_sigkilled_mid_epoch_resumes_to_the_uninterrupted_runs_final_step_and_exact_values(output_dir, tmp_path):
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, targeted="in-training:6")  # 2 steps after last.ckpt (step 4)
    assert trial.ok and trial.exact, row
    assert trial.checkpoint_step == 4 and trial.lost_steps == 2 and trial.final_step == 24, row


@pytest.mark.slow
def test_ten_random_sigkills_of_dcgan_and_of_gpt_each_resume_losing_at_most_one_interval(output_dir, tmp_path):
    trials = fault_injection.run_fault_injection(["dcgan", "gpt"], 10, seed=0, output_dir=tmp_path / "fault",
                                                 data_dir=str(SHARED_DATA))
    assert len(trials) == 20
    assert all(trial.ok for trial in trials), fault_injection.format_table(trials)


@pytest.mark.slow
def test_sigkill_just_before_a_checkpoint_rename_leaves_a_temp_file_and_resumes_from_the_previous_checkpoint(
        output_dir, tmp_path):
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, targeted="before-rename:2")
    assert trial.ok and trial.exact, row
    assert trial.temp_files == 1 and trial.checkpoint_step == 4, row  # the 2nd last.ckpt (step 8) never landed


@pytest.mark.slow
def test_sigkill_in_the_validation_after_a_checkpoint_step_resumes_before_it_and_repeats_it_exactly(
        output_dir, tmp_path):
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, targeted="in-validation")  # epoch 0's, at step 12
    assert trial.ok and trial.exact, row
    assert trial.checkpoint_step == 8, row  # step 12's checkpoint waits for the end of the validation


@pytest.mark.slow
def test_sigkill_just_after_an_epoch_end_checkpoint_resumes_with_exact_values(output_dir, tmp_path):
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, targeted="after-rename:3")  # step 12, epoch 0's end
    assert trial.checkpoint_step == 12 and trial.final_step == 24 and trial.lost_steps == 0, row
    assert trial.exact, row


def test_sigkill_just_after_a_mid_epoch_checkpoint_keeps_every_metrics_row(output_dir, tmp_path):
    """Killed after step 4's last.ckpt landed and before Lightning logged step 4's row: the row comes from the
    checkpoint (genlab.callbacks.step_row), so metrics.csv holds every step once with the reference's values."""
    trial, row = tiny_dcgan_trial(output_dir, tmp_path, targeted="after-rename:1")
    assert trial.ok and trial.exact, row
    assert trial.checkpoint_step == 4 and trial.final_step == 24, row
