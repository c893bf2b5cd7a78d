"""Sampling in chunks: a seed's images do not depend on the chunk size, and genlab-sample streams samples.npz."""
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from conftest import REPO
from genlab.images import make_grid
from genlab.models import sample_chunks
from genlab.models.dcgan import DCGAN
from genlab.models.vae import VAE
from genlab.npz_writer import NpzArrayWriter

MEASURED_SAMPLE = """
import json, resource, sys
import genlab.sample

def measured(*args):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    write_images(*args)
    print(json.dumps({"peak_kib_before": before, "peak_kib_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))

write_images, genlab.sample.write_images = genlab.sample.write_images, measured
sys.argv = ["genlab-sample", *sys.argv[1:]]
genlab.sample.main()
"""


def last_ckpt(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.ckpt"


def written_sample_dir(stdout: str) -> Path:
    """The directory named by genlab-sample's `wrote N samples to <dir>/samples.npz ...` line."""
    return Path(re.search(r"wrote \d+ samples to (\S+)/samples\.npz", stdout).group(1))


@pytest.mark.parametrize("chunk_size", [16, 1024])
@pytest.mark.parametrize("latent_dim", [3, 4, 64])
@pytest.mark.parametrize("num_samples", [1, 5, 49, 1025, 3000])
def test_noise_chunks_concatenate_to_one_draw_from_the_seed(monkeypatch, chunk_size, latent_dim, num_samples):
    monkeypatch.setattr(sample_chunks, "SAMPLE_CHUNK_SIZE", chunk_size)
    chunks = list(sample_chunks.noise_chunks(num_samples, latent_dim, seed=11))
    assert [start for start, _ in chunks] == np.cumsum([0] + [len(z) for _, z in chunks])[:-1].tolist()
    assert max(len(z) for _, z in chunks) < chunk_size + 16
    at_once = torch.randn(num_samples, latent_dim, generator=torch.Generator().manual_seed(11))
    assert torch.equal(torch.cat([z for _, z in chunks]), at_once)


@pytest.mark.parametrize("build_model", [
    lambda: DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, num_classes=10),
    lambda: VAE(image_size=16, latent_dim=4, hidden_dims=(32,), num_classes=10, lr_schedule="constant"),
], ids=["conditional_dcgan", "conditional_vae"])
def test_a_seed_gives_the_same_images_and_labels_whatever_the_chunk_size(monkeypatch, build_model):
    model = build_model()
    one_chunk = {label: model.sample(49, seed=4, class_label=label) for label in (None, 3)}
    monkeypatch.setattr(sample_chunks, "SAMPLE_CHUNK_SIZE", 16)  # 49 images: chunks of 16, 16 and 17
    for label, images in one_chunk.items():
        assert np.array_equal(model.sample(49, seed=4, class_label=label), images)


def test_trained_dcgan_samples_below_and_above_the_chunk_size_match_one_chunk(monkeypatch, trained_run):
    model = genlab.load(last_ckpt(trained_run))
    one_chunk = model.sample(100, seed=4)
    monkeypatch.setattr(sample_chunks, "SAMPLE_CHUNK_SIZE", 16)
    assert np.array_equal(model.sample(100, seed=4), one_chunk)
    assert np.array_equal(model.sample(10, seed=4), one_chunk[:10])  # latent_dim 64: a draw's prefix is a draw


def test_sample_streams_a_complete_npz_of_all_chunks_and_grids_the_first_64(run_cli, monkeypatch, trained_run):
    expected = genlab.load(last_ckpt(trained_run)).sample(100, seed=3)
    monkeypatch.setattr(sample_chunks, "SAMPLE_CHUNK_SIZE", 16)
    result = run_cli("sample", f"ckpt_path={last_ckpt(trained_run)}", "num_samples=100", "seed=3")
    assert result.exit_code == 0, result.stderr
    sample_dir = written_sample_dir(result.stdout)
    with zipfile.ZipFile(sample_dir / "samples.npz") as archive:
        assert archive.testzip() is None and archive.namelist() == ["images.npy"]
    images = np.load(sample_dir / "samples.npz")["images"]
    assert images.shape == (100, 16, 16, 1) and images.dtype == np.uint8 and np.array_equal(images, expected)
    grid = np.asarray(Image.open(sample_dir / "grid.png"))
    assert np.array_equal(grid[::2, ::2], make_grid(images[:64])[..., 0])  # save_png doubles a 146-pixel grid
    assert not list(sample_dir.glob(".*.tmp"))


def test_sampling_many_images_keeps_peak_memory_to_one_chunk(output_dir, trained_run):
    count = 30_000  # at once, their 8x8x64 feature maps alone are 30,000 x 16 KiB = 480 MiB
    result = subprocess.run(
        [sys.executable, "-c", MEASURED_SAMPLE, f"ckpt_path={last_ckpt(trained_run)}", f"num_samples={count}"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    peaks = json.loads(result.stdout.splitlines()[-1])
    growth_mib = (peaks["peak_kib_after"] - peaks["peak_kib_before"]) / 1024
    assert growth_mib < 200, f"peak RSS grew by {growth_mib:.0f} MiB while writing {count} samples"
    images = np.load(written_sample_dir(result.stdout) / "samples.npz")["images"]
    assert images.shape == (count, 16, 16, 1) and images.dtype == np.uint8


def test_npz_writer_refuses_a_wrong_row_count_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "samples.npz"
    np.savez_compressed(path, images=np.zeros((1, 2), np.uint8))
    with pytest.raises(ValueError, match="3 rows written of the 4 announced"):
        with NpzArrayWriter(path, "images", 4) as writer:
            writer.append(np.ones((3, 2), np.uint8))
    with pytest.raises(ValueError, match="cannot follow rows of shape"):
        with NpzArrayWriter(path, "images", 4) as writer:
            writer.append(np.ones((2, 2), np.uint8))
            writer.append(np.ones((2, 3), np.uint8))
    assert np.array_equal(np.load(path)["images"], np.zeros((1, 2), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["samples.npz"]
