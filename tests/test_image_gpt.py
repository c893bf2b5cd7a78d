"""Image GPT: pixels as tokens after a start (class) token, losses in nats per image, KV-cache sampling that draws
what full re-decoding draws, conditional sampling that honours the class, and sampling from a checkpoint alone."""
import csv
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genlab
from conftest import read_run_info, run_dirs
from genlab.errors import ConfigError
from genlab.models.image_gpt import ImageGPT, PixelDecoder
from genlab.networks.generation import generate

TINY = dict(n_layer=1, n_head=2, n_embd=16)
IGPT_RUN = ["data=digits", "model=image_gpt", "model.levels=4", "model.n_layer=1", "model.n_head=2", "model.n_embd=32",
            "data.image_size=8", "data.batch_size=32", "trainer.max_epochs=-1", "trainer.max_steps=20",
            "model.warmup_steps=2", "model.lr=3e-3", "trainer.log_every_n_steps=1", "trainer.limit_val_batches=2",
            "trainer.limit_test_batches=2", "metrics.num_samples=100", "metrics.at_start=false",
            "callbacks.rich_progress_bar=null", "callbacks.sample_logger.num_samples=8", "optimized_metric=val/nll"]


def images_of(levels_per_pixel: torch.Tensor, levels: int) -> torch.Tensor:
    """Images in [-1, 1] (B, 1, H, W) whose pixels quantize to the given levels (B, H, W)."""
    return (levels_per_pixel.float() / (levels - 1) * 2 - 1).unsqueeze(1)


def test_pixels_become_tokens_in_raster_order_behind_the_class_token_and_back():
    model = ImageGPT(image_size=2, channels=1, levels=4, num_classes=10, **TINY)
    pixels = torch.tensor([[[0, 1], [2, 3]], [[3, 3], [0, 1]]])
    inputs, targets = model.sequence_batch((images_of(pixels, 4), torch.tensor([7, 2])))
    assert targets.tolist() == [[0, 1, 2, 3], [3, 3, 0, 1]]
    assert inputs.tolist() == [[4 + 7, 0, 1, 2], [4 + 2, 3, 3, 0]]  # start token = levels + class, then pixels
    assert model.to_images(targets).tolist() == [[[[0], [85]], [[170], [255]]], [[[255], [255]], [[0], [85]]]]


def test_nats_per_image_are_the_sum_over_pixels_of_minus_log_p_of_each_pixel():
    torch.manual_seed(0)
    model = ImageGPT(image_size=3, channels=1, levels=4, **TINY).eval()
    pixels = torch.randint(0, 4, (5, 3, 3))
    batch = (images_of(pixels, 4), torch.zeros(5, dtype=torch.long))
    expected = 0.0
    with torch.no_grad():
        for image in range(5):  # by hand: the network's distribution of each pixel given those before it
            sequence = [4] + pixels[image].flatten().tolist()
            for position in range(9):
                logits = model.network(torch.tensor([sequence[: position + 1]]))[0, -1, :4]
                expected -= F.log_softmax(logits, dim=-1)[sequence[position + 1]].item()
        model.evaluation_step(batch, "val")
    metrics = model.evaluation_metrics("val", {name: m.compute() for name, m in model.sums["val"].items()})
    assert metrics["val/nll"].item() == pytest.approx(expected / 5, rel=1e-5)
    assert metrics["val/bpd"].item() == pytest.approx(expected / 5 / 9 / math.log(2), rel=1e-5)


def test_cached_and_uncached_sampling_draw_identical_pixels():
    # float64, as the text models' test: at float32 a probability within ~1e-7 of a boundary could flip a draw
    model = ImageGPT(image_size=4, channels=1, levels=4, num_classes=3, **TINY).double()
    decoder = PixelDecoder(model.network, model.levels)
    starts = model.start_tokens(torch.tensor([0, 1, 2]), 3)
    runs = [generate(decoder, starts, model.dims, generator=torch.Generator().manual_seed(3), use_cache=use_cache)
            for use_cache in (True, False)]
    assert runs[0].shape == (3, 17) and torch.equal(runs[0], runs[1])
    assert int(runs[0][:, 1:].max()) < model.levels  # start tokens are never drawn as pixels


def test_conditional_sampling_honours_the_class():
    torch.manual_seed(0)
    model = ImageGPT(image_size=4, channels=1, levels=2, num_classes=2, n_layer=1, n_head=2, n_embd=32)
    labels = torch.arange(64) % 2
    pixels = labels[:, None, None].expand(64, 4, 4)  # class 0: black images, class 1: white ones
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(60):
        inputs, targets = model.sequence_batch((images_of(pixels, 2), labels))
        loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    black, white = (model.sample(8, seed=0, class_label=label) for label in (0, 1))
    assert black.shape == (8, 4, 4, 1) and (black == 0).mean() > 0.95 and (white == 255).mean() > 0.95
    cycled = model.sample(4, seed=1)  # no class_label: rows cycle through the classes
    assert [int(image.mean() > 127) for image in cycled] == [0, 1, 0, 1]
    with pytest.raises(ConfigError, match="class_label=5 is out of range: use 0..1"):
        model.sample(2, class_label=5)


def test_a_short_image_gpt_run_lowers_its_loss_logs_nats_per_image_and_its_checkpoint_alone_samples(
        run_cli, output_dir):
    assert run_cli("train", *IGPT_RUN).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "image_gpt_digits")
    assert read_run_info(run_dir)["status"] == "completed"
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    losses = [float(row["train/loss"]) for row in rows if row.get("train/loss")]
    assert len(losses) == 20 and np.mean(losses[-5:]) < np.mean(losses[:5]) - 5  # nats per image of 64 pixels
    assert losses[0] == pytest.approx(64 * math.log(4), rel=0.05)  # an untrained model: uniform over 4 levels
    test_nll = [float(row["test/nll"]) for row in rows if row.get("test/nll")]
    assert len(test_nll) == 1 and 0 < test_nll[0] < 64 * math.log(4)
    assert any(row.get("val/fid") for row in rows) and list(run_dir.glob("samples/epoch_*.png"))
    model = genlab.load(run_dir / "checkpoints" / "last.ckpt")
    images = model.sample(6, seed=4)
    assert images.shape == (6, 8, 8, 1) and images.dtype == np.uint8
    assert set(np.unique(images)) <= {0, 85, 170, 255}
    assert np.array_equal(images, model.sample(6, seed=4))
    result = run_cli("sample", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "num_samples=70", "seed=4")
    assert result.exit_code == 0, result.stderr
    written = np.load(next((run_dir / "generated").iterdir()) / "samples.npz")["images"]
    assert written.shape == (70, 8, 8, 1) and np.array_equal(written, model.sample(70, seed=4))  # in chunks of 64
