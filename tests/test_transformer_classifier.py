"""The Transformer classifier (ViT-style) and what it shares with the GPT: bidirectional blocks that see the whole
sequence, patches in raster order, the ClassifierModule metrics; and the data options it brings (random shifts,
binarized images)."""
import csv

import numpy as np
import pytest
import torch

from conftest import run_dirs
from genlab.data.augment import random_shift
from genlab.data.digits import DigitsDataModule
from genlab.errors import ConfigError
from genlab.networks.gpt import GPT
from genlab.networks.vit import VisionTransformer

VIT_RUN = ["model=transformer_classifier", "model.patch_size=4", "model.n_layer=2", "model.n_head=2",
           "model.n_embd=32", "model.warmup_steps=2", "model.lr=3e-3", "trainer.max_epochs=-1", "trainer.max_steps=20",
           "trainer.log_every_n_steps=1", "data.augment_shift=1", "metrics=none", "callbacks.rich_progress_bar=null",
           "optimized_metric=val/acc", "callbacks.model_checkpoint.mode=max"]


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_only_bidirectional_blocks_let_the_first_position_see_the_last_token(causal):
    torch.manual_seed(0)
    gpt = GPT(vocab_size=10, block_size=6, n_layer=2, n_head=2, n_embd=16, causal=causal).eval()
    idx = torch.tensor([[1, 2, 3, 4, 5, 6]])
    changed = idx.clone()
    changed[0, -1] = 9
    first, first_changed = gpt(idx)[0, 0], gpt(changed)[0, 0]
    assert torch.allclose(first, first_changed) == causal


def test_the_class_token_attends_to_every_patch():
    torch.manual_seed(0)
    vit = VisionTransformer(channels=1, image_size=8, num_classes=3, patch_size=4, n_layer=1, n_head=2, n_embd=16).eval()
    images = torch.zeros(1, 1, 8, 8)
    moved = images.clone()
    moved[0, 0, 7, 7] = 1.0  # a pixel of the last patch
    assert vit(images).shape == (1, 3) and vit.features(images).shape == (1, 16)
    assert not torch.allclose(vit.features(images), vit.features(moved))


def test_patches_tile_the_image_in_raster_order():
    vit = VisionTransformer(channels=1, image_size=4, num_classes=2, patch_size=2, n_layer=1, n_head=2, n_embd=8)
    image = torch.arange(16.0).view(1, 1, 4, 4)
    assert vit.patches(image).tolist() == [[[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]]
    with pytest.raises(ConfigError, match="model.patch_size=3 must divide model.image_size=4"):
        VisionTransformer(image_size=4, patch_size=3)


def test_random_shift_moves_each_image_by_its_own_offset_within_bounds_and_repeats_per_seed():
    images = torch.full((32, 1, 8, 8), -1.0)
    images[:, :, 4, 4] = 1.0  # one lit pixel
    shifted = random_shift(images, 2, torch.Generator().manual_seed(5))
    again = random_shift(images, 2, torch.Generator().manual_seed(5))
    assert shifted.shape == images.shape and torch.equal(shifted, again)
    lit = [tuple(int(v) for v in (image[0] == 1).nonzero()[0]) for image in shifted]
    assert all(2 <= row <= 6 and 2 <= column <= 6 for row, column in lit) and len(set(lit)) > 5


def test_binarized_images_are_fixed_binary_and_the_same_in_every_run():
    datamodules = [DigitsDataModule(binarize="sample", seed=seed) for seed in (1, 1, 2)]
    for datamodule in datamodules:
        datamodule.setup()
    first, again, other_seed = (dm.datasets["test"].tensors[0] for dm in datamodules)
    assert set(torch.unique(first).tolist()) == {-1.0, 1.0} and torch.equal(first, again)
    pool = [torch.cat([dm.datasets[split].tensors[0] for split in ("train", "val", "test")]) for dm in datamodules]
    assert sorted(map(tuple, pool[0].flatten(1).tolist())) == sorted(map(tuple, pool[2].flatten(1).tolist()))
    threshold = DigitsDataModule(binarize="threshold", seed=1)
    threshold.setup()
    plain = DigitsDataModule(seed=1)
    plain.setup()
    assert torch.equal(threshold.datasets["test"].tensors[0], torch.where(plain.datasets["test"].tensors[0] > 0, 1.0, -1.0))
    with pytest.raises(ConfigError, match="data.binarize must be null, threshold or sample, got 'yes'"):
        DigitsDataModule(binarize="yes")


def test_a_short_vit_run_lowers_its_loss_and_logs_the_classifier_metrics(run_cli, output_dir):
    assert run_cli("train", *VIT_RUN).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "transformer_classifier_digits")
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    losses = [float(row["train/loss"]) for row in rows if row.get("train/loss")]
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5])
    assert any(row.get("val/acc") for row in rows) and any(row.get("test/acc") for row in rows)
