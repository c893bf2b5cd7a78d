"""Precision, recall, density and coverage on the toy examples of Naeem et al. 2020, chunked and split alike, and as
ImageQuality reports them from its one feature pass."""
import math

import pytest
import torch
from torch import nn

from genlab.errors import ConfigError
from genlab.metrics.image_quality import ImageQuality
from genlab.metrics.prdc import PrecisionRecallDensityCoverage, prdc

NAMES = ("precision", "recall", "density", "coverage")


def gaussian(count: int, seed: int, dims: int = 2, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(count, dims, generator=torch.Generator().manual_seed(seed)) + shift


def modes(count: int, seed: int, num_modes: int, of: int = 8) -> torch.Tensor:
    """`count` points from the first `num_modes` of `of` far-apart Gaussian modes on a circle, in equal shares."""
    angles = 2 * math.pi * (torch.arange(count) % num_modes) / of
    centres = 30 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return centres + gaussian(count, seed)


def test_identical_gaussians_score_about_one_on_all_four():
    values = prdc(gaussian(2000, seed=0), gaussian(2000, seed=1), k=5)
    for name in NAMES:
        assert values[name] == pytest.approx(1.0, abs=0.06), values  # coverage's expectation is 1 - 2^-k = 0.97


def test_disjoint_gaussians_score_zero_on_all_four():
    assert prdc(gaussian(1000, seed=0), gaussian(1000, seed=1, shift=50.0), k=5) == dict.fromkeys(NAMES, 0.0)


def test_generator_covering_half_the_modes_has_half_the_recall_and_coverage_and_full_precision():
    values = prdc(modes(4000, seed=0, num_modes=8), modes(4000, seed=1, num_modes=4), k=5)
    assert values["recall"] == pytest.approx(0.5, abs=0.05), values
    assert values["coverage"] == pytest.approx(0.5, abs=0.05), values
    assert values["precision"] == pytest.approx(1.0, abs=0.05), values


def test_chunked_distances_give_exactly_the_unchunked_values():
    real, fake = gaussian(600, seed=0, dims=16), gaussian(500, seed=1, dims=16, shift=0.3)
    assert prdc(real, fake, k=3, chunk=7) == prdc(real, fake, k=3, chunk=10_000)


def test_updates_in_halves_in_any_order_equal_one_update_and_reset_keeps_only_the_real_reference():
    real, fake = gaussian(400, seed=0, dims=8), gaussian(400, seed=1, dims=8, shift=0.5)
    whole = PrecisionRecallDensityCoverage(k=4)
    whole.update(real, real=True)
    whole.update(fake, real=False)
    halves = PrecisionRecallDensityCoverage(k=4)
    for part in (1, 0):  # as two DDP ranks' shares, gathered in another order
        halves.update(real[part::2], real=True)
        halves.update(fake[part::2], real=False)
    expected = prdc(real, fake, k=4)
    assert whole.compute() == halves.compute() == expected
    halves.reset()
    halves.update(real + 100.0, real=False)  # fakes of the next evaluation only
    assert halves.compute()["precision"] == 0.0


def test_too_few_samples_for_k_is_an_error_naming_metrics_prdc_k():
    with pytest.raises(ConfigError, match=r"metrics.prdc_k=5 needs more than 5 fake samples, got 5"):
        prdc(gaussian(100, seed=0), gaussian(5, seed=1), k=5)
    with pytest.raises(ConfigError, match=r"metrics.prdc_k must be a positive whole number of neighbours, got 0"):
        PrecisionRecallDensityCoverage(k=0)


class CountingFeatures(nn.Module):
    """A feature net that counts its calls: images (B, 1, 4, 4) → their 16 pixels as features."""

    num_features = 16

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return images.flatten(1)


def test_image_quality_reports_prdc_beside_fid_from_one_feature_pass_per_batch():
    features = CountingFeatures()
    metric = ImageQuality(features, nn.Linear(16, 3), kid_subset_size=50, prdc_k=5)
    real, fake = gaussian(200, seed=0, dims=16).view(-1, 1, 4, 4), gaussian(200, seed=1, dims=16).view(-1, 1, 4, 4)
    for start in range(0, 200, 100):
        metric.update(real[start : start + 100], real=True)
        metric.update(fake[start : start + 100], real=False)
    values = metric.compute()
    assert features.calls == 4
    assert {"fid", "kid_mean", "is_mean", "class_min_frac", *NAMES} <= set(values)
    assert {name: values[name] for name in NAMES} == prdc(real.flatten(1), fake.flatten(1), k=5)
