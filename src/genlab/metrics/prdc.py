"""Precision, recall, density and coverage (Kynkäänniemi et al. 2019; Naeem et al. 2020) from k-NN balls in feature
space, with chunked distances so memory stays O(chunk · N) whatever the sample counts."""
import torch
from torchmetrics import Metric
from torchmetrics.utilities.data import dim_zero_cat

from genlab.errors import ConfigError

DISTANCE_CHUNK = 1024  # rows of one torch.cdist block: 1024 x 5000 float64 distances = 40 MB


def kth_neighbour_distances(points: torch.Tensor, k: int, chunk: int = DISTANCE_CHUNK) -> torch.Tensor:
    """(N,) distance from each point to its k-th nearest other point (the radius of its k-NN ball)."""
    radii = [torch.cdist(block, points).topk(k + 1, dim=1, largest=False).values[:, k]  # column 0 is the point itself
             for block in points.split(chunk)]
    return torch.cat(radii)


def prdc(real: torch.Tensor, fake: torch.Tensor, k: int = 5, chunk: int = DISTANCE_CHUNK) -> dict[str, float]:
    """The four metrics of real (N, F) against fake (M, F) features, in one pass over real-row chunks of distances.

    precision: share of fakes inside some real k-NN ball; recall: share of reals inside some fake ball; density: real
    balls holding each fake, averaged and divided by k; coverage: share of real balls holding at least one fake.
    """
    for name, points in (("real", real), ("fake", fake)):
        if len(points) <= k:
            raise ConfigError(f"metrics.prdc_k={k} needs more than {k} {name} samples, got {len(points)}")
    real, fake = real.double(), fake.double()
    real_radii, fake_radii = kth_neighbour_distances(real, k, chunk), kth_neighbour_distances(fake, k, chunk)
    balls_holding_fake = torch.zeros(len(fake), dtype=torch.long, device=fake.device)
    real_in_fake_manifold, real_ball_covered = [], []
    for start in range(0, len(real), chunk):
        distances = torch.cdist(real[start : start + chunk], fake)  # (chunk, M)
        radii = real_radii[start : start + chunk, None]
        balls_holding_fake += (distances < radii).sum(dim=0)
        real_in_fake_manifold.append((distances < fake_radii[None, :]).any(dim=1))
        real_ball_covered.append(distances.min(dim=1).values < radii[:, 0])
    return {
        "precision": float((balls_holding_fake > 0).double().mean()),
        "recall": float(torch.cat(real_in_fake_manifold).double().mean()),
        "density": float(balls_holding_fake.double().mean() / k),
        "coverage": float(torch.cat(real_ball_covered).double().mean()),
    }


class PrecisionRecallDensityCoverage(Metric):
    """PRDC as a torchmetrics Metric: real and fake features kept whole (gathered exactly across DDP ranks); `reset`
    forgets the fakes only, so the real reference is added once, like FID's `reset_real_features=False`."""

    full_state_update = False

    def __init__(self, k: int = 5, chunk: int = DISTANCE_CHUNK):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"metrics.prdc_k must be a positive whole number of neighbours, got {k!r}")
        self.k, self.chunk = k, chunk
        self.add_state("real_features", default=[], dist_reduce_fx="cat")
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def update(self, features: torch.Tensor, real: bool) -> None:
        (self.real_features if real else self.fake_features).append(features.detach().flatten(1))

    def compute(self) -> dict[str, float]:
        return prdc(dim_zero_cat(self.real_features), dim_zero_cat(self.fake_features), self.k, self.chunk)

    def reset(self) -> None:
        real_features = list(self.real_features)  # reset empties the state list in place
        super().reset()
        self.real_features = real_features
