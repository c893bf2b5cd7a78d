"""GPU paths: bf16 and 16-bit mixed precision, FSDP's norm clipping, a compiled GPT. They need a CUDA device, so
they run where one is lent (see the README's "Devices, precision, compile"); CI machines have none."""
import csv

import pytest
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, TensorDataset

from conftest import run_dirs
from genlab.models.module import GenlabModule
from helpers.text_runs import TEXT, lm_args

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


class TwoLayerRegressor(GenlabModule):
    """A regression whose raw gradient norm is far above 0.1, recording the norm each optimizer step used."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Linear(32, 1))
        self.step_norms = []

    def training_step(self, batch, batch_idx):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.net(inputs), targets) * 100

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=1e-3)
        # Lightning runs the closure (forward, backward, clipping) inside step(): the grads are read after it
        optimizer.register_step_post_hook(lambda opt, args, kwargs: self.step_norms.append(torch.linalg.vector_norm(
            torch.cat([p.grad.flatten() for group in opt.param_groups for p in group["params"]])).item()))
        return optimizer


def test_fsdp_clips_the_gradient_norm_through_the_root_fsdp_module():
    data = TensorDataset(torch.randn(64, 8), torch.randn(64, 1) * 10)
    module = TwoLayerRegressor()
    trainer = Trainer(accelerator="gpu", devices=1, strategy="fsdp", max_steps=4, gradient_clip_val=0.1, logger=False,
                      enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, DataLoader(data, batch_size=16))
    assert module.step_norms == pytest.approx([0.1] * 4, rel=1e-3)


@pytest.mark.parametrize("extra", [
    ["trainer.precision=bf16-mixed"],
    ["trainer.precision=bf16-mixed", "model.compile=true"],
    ["trainer=fsdp", "trainer.devices=1"],
], ids=["bf16", "bf16-compiled", "fsdp"])
def test_gpt_trains_on_the_gpu_and_logs_mfu(run_cli, output_dir, tmp_path, extra):
    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    result = run_cli("train", *lm_args(text_file, "gpt"), "trainer=gpu", *extra)
    assert result.exit_code == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    losses = [float(row["train/loss"]) for row in rows if row.get("train/loss")]
    assert losses[-1] < losses[0]
    assert any(0 < float(row["train/device/mfu"]) < 1 for row in rows if row.get("train/device/mfu"))
    assert (run_dir / "samples" / "step_000020.txt").read_text().strip()


def test_dcgan_trains_under_16_bit_mixed_precision_counting_one_step_per_generator_update(run_cli, output_dir):
    result = run_cli("train", "trainer=gpu", "trainer.precision=16-mixed", "trainer.max_steps=10",
                     "trainer.max_epochs=-1", "test=false", "trainer.log_every_n_steps=1",
                     "callbacks.rich_progress_bar=null", "metrics.num_samples=200")
    assert result.exit_code == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 10
    rows = [row for row in csv.DictReader((run_dir / "metrics.csv").open()) if row.get("train/g_loss")]
    assert [int(row["step"]) for row in rows] == list(range(10))  # GradScaler's skipped steps still count
    assert all(abs(float(row[key])) < 1e4 for row in rows for key in ("train/g_loss", "train/d_loss"))
