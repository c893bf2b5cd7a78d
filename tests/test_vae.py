"""VAE and conditional VAE: shapes, ELBO bookkeeping, the importance-weighted bound, sampling rules, a real run."""
import csv

import numpy as np
import pytest
import torch

from conftest import FAST, read_run_info, run_dirs
from genlab.errors import ConfigError
from genlab.models.vae import VAE
from genlab.networks.conditioning import sampling_labels

SMALL = {"latent_dim": 4, "hidden_dims": (32,), "conv_channels": (4, 8), "lr_schedule": "constant"}


def digits_like_batch(count: int = 16, size: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [-1, 1] (B, 1, size, size) with a bright class-dependent stripe, and their labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (count,), generator=generator)
    images = -torch.ones(count, 1, size, size)
    for index, label in enumerate(labels.tolist()):
        images[index, 0, :, label % size] = 1.0
    images += 0.2 * torch.rand(images.shape, generator=generator)
    return images.clamp(-1, 1), labels


@pytest.mark.parametrize("arch,image_size", [("mlp", 8), ("mlp", 28), ("conv", 16), ("conv", 28), ("conv", 32)])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_vae_networks_give_latents_and_logits_of_the_image_shape_and_uint8_outputs(arch, image_size, num_classes):
    model = VAE(image_size=image_size, arch=arch, num_classes=num_classes, **SMALL)
    images, labels = digits_like_batch(5, image_size)
    mean, logvar = model.encode(model.targets(images), labels if num_classes else None)
    assert mean.shape == logvar.shape == (5, 4)
    assert model.decode(mean, labels if num_classes else None).shape == (5, 1, image_size, image_size)
    assert model.sample(3, seed=0).shape == (3, image_size, image_size, 1)
    assert model.reconstruct(images, labels).shape == (5, image_size, image_size, 1)
    between = model.interpolate(images, images.flip(0), steps=4, labels=labels)
    assert between.shape == (20, image_size, image_size, 1) and between.dtype == np.uint8


def test_conv_vae_rejects_image_sizes_it_cannot_halve_naming_the_key():
    with pytest.raises(ConfigError, match=r"model.image_size=8 does not fit the conv VAE.*model.arch=mlp"):
        VAE(image_size=8, arch="conv")
    with pytest.raises(ConfigError, match=r"model.image_size=30"):
        VAE(image_size=30, arch="conv")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_elbo_is_minus_recon_plus_kl_and_deterministic_with_a_seed(likelihood):
    model = VAE(image_size=16, likelihood=likelihood, **SMALL)
    images, _ = digits_like_batch()
    def seeded_losses():
        return model.losses(model.targets(images, torch.Generator().manual_seed(3)), None,
                            torch.Generator().manual_seed(4), 1.0)

    first, again = seeded_losses(), seeded_losses()
    assert torch.allclose(first["elbo"], -(first["recon"] + first["kl"]))
    assert torch.allclose(first["loss"], -first["elbo"]) and first["kl"] >= 0
    assert all(torch.equal(first[name], again[name]) for name in first)


def test_dynamic_binarization_gives_binary_targets_with_the_pixel_intensity_as_mean():
    model = VAE(image_size=16, **SMALL)
    images = torch.full((200, 1, 16, 16), 0.5)  # intensity 0.75
    targets = model.targets(images, torch.Generator().manual_seed(0))
    assert set(targets.unique().tolist()) <= {0.0, 1.0}
    assert abs(targets.mean().item() - 0.75) < 0.01


def test_a_few_adam_steps_on_a_tiny_batch_lower_the_loss():
    torch.manual_seed(0)
    model = VAE(image_size=16, **SMALL)
    images, _ = digits_like_batch(32)
    optimizer = model.configure_optimizers()
    evaluate = lambda: model.losses(model.targets(images, torch.Generator().manual_seed(0)), None,  # noqa: E731
                                    torch.Generator().manual_seed(1), 1.0)["loss"].item()
    before = evaluate()
    for _ in range(20):
        optimizer.zero_grad()
        model.losses(model.targets(images), None, None, 1.0)["loss"].backward()
        optimizer.step()
    assert evaluate() < before - 10


@pytest.mark.parametrize("num_classes", [None, 10])
def test_importance_weighted_nll_is_a_tighter_bound_than_minus_elbo(num_classes):
    torch.manual_seed(0)
    model = VAE(image_size=16, num_classes=num_classes, **SMALL)
    images, labels = digits_like_batch(64)
    labels = labels if num_classes else None
    optimizer = model.configure_optimizers()
    for _ in range(20):  # a partly trained model, so q(z|x) is informative and the gap is meaningful
        optimizer.zero_grad()
        model.losses(model.targets(images), labels, None, 1.0)["loss"].backward()
        optimizer.step()
    targets = model.targets(images, torch.Generator().manual_seed(0))
    minus_elbo = torch.stack([
        -model.losses(targets, labels, torch.Generator().manual_seed(seed), 1.0)["elbo"].detach() for seed in range(8)
    ]).mean()
    nll_iw = model.importance_weighted_nll(targets, labels, 16, torch.Generator().manual_seed(1)).mean()
    assert nll_iw <= minus_elbo + 0.5


def test_importance_weighted_nll_does_not_depend_on_the_decode_chunking(monkeypatch):
    model = VAE(image_size=16, **SMALL)
    images, _ = digits_like_batch(8)
    targets = model.targets(images, torch.Generator().manual_seed(0))
    whole = model.importance_weighted_nll(targets, None, 10, torch.Generator().manual_seed(1))
    monkeypatch.setattr("genlab.models.vae.IW_DECODE_ROWS", 24)  # 3 samples per decoder call
    chunked = model.importance_weighted_nll(targets, None, 10, torch.Generator().manual_seed(1))
    assert torch.allclose(whole, chunked, atol=1e-4)


def test_conditional_sample_of_one_class_gives_the_requested_count_and_cycles_by_default():
    model = VAE(image_size=16, num_classes=10, **SMALL)
    assert model.sample(7, seed=0, class_label=3).shape == (7, 16, 16, 1)
    assert sampling_labels("m", model.num_classes, 12, None, model.device).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert np.array_equal(model.sample(4, seed=1), model.sample(4, seed=1))


def test_bad_likelihood_arch_and_class_labels_fail_naming_what_is_wrong():
    with pytest.raises(ConfigError, match="model.likelihood must be one of bernoulli, gaussian, got 'poisson'"):
        VAE(likelihood="poisson")
    with pytest.raises(ConfigError, match="model.arch must be one of mlp, conv"):
        VAE(arch="resnet")
    with pytest.raises(ConfigError, match=r"^class_label=3: VAE is unconditional$"):
        VAE(image_size=16, **SMALL).sample(2, class_label=3)
    with pytest.raises(ConfigError, match=r"class_label=10 is out of range: use 0..9"):
        VAE(image_size=16, num_classes=10, **SMALL).sample(2, class_label=10)
    with pytest.raises(ConfigError, match=r"^labels: VAE is conditional"):
        VAE(image_size=16, num_classes=10, **SMALL).reconstruct(digits_like_batch(2)[0])


def test_short_vae_digits_run_logs_nats_and_reports_the_importance_weighted_nll(run_cli, output_dir):
    result = run_cli("train", "experiment=vae_digits", *FAST, "model.iw_samples=8", "metrics.every_n_epochs=1",
                     "metrics.feature_net=null")  # FID/KID/IS have their own tests
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "vae_digits")
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert any(row.get("val/elbo") for row in rows) and any(row.get("train/kl") for row in rows)
    metrics = read_run_info(run_dir)["final_metrics"]
    assert {"test/nll_iw", "test/elbo", "test/recon", "test/kl"} <= set(metrics)
    assert 0 < metrics["test/nll_iw"] <= -metrics["test/elbo"] + 1.0
    assert (run_dir / "samples" / "epoch_001.png").is_file()
