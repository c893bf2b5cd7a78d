"""A non-finite loss stops the run in one line naming loss and step; the last good checkpoint stays."""
import torch

from conftest import FAST, read_run_info, run_dirs
from genlab.models.gan import GANModule


def test_nan_generator_loss_stops_the_run_names_loss_and_step_and_keeps_last_good_checkpoint(run_cli, output_dir, monkeypatch):
    original = GANModule.generator_step

    def poisoned(self, fake, labels, optimizer):
        stats = original(self, fake, labels, optimizer)
        if self.global_step >= 6:
            stats["g_loss"] = torch.tensor(float("nan"))
        return stats

    monkeypatch.setattr(GANModule, "generator_step", poisoned)
    result = run_cli("train", *FAST, "trainer.max_epochs=3")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "genlab-train: error: training diverged: train/g_loss = nan at step 6 (the last good checkpoint is kept)"
    )
    (run_dir,) = run_dirs(output_dir)
    info = read_run_info(run_dir)
    assert info["status"] == "failed" and "train/g_loss = nan at step 6" in info["error"]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4
