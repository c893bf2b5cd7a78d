"""FID, KID, IS and PRDC of generated images against one real reference set (torchmetrics; real statistics kept)."""
import torch
from torch import nn
from torchmetrics.aggregation import CatMetric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance

from genlab.metrics.prdc import PrecisionRecallDensityCoverage


class PassThrough(nn.Module):
    """What torchmetrics is given when genlab computes the features itself: features in, features out."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class ImageQuality(nn.Module):
    """Real features are added once (`has_real`); `compute` reports and then forgets the fake ones.

    `features` is a feature net (images → (B, F), with `num_features`), run once per batch for FID, KID, precision/
    recall/density/coverage (k = `prdc_k` neighbours) and, through `head` (features → class logits), IS and the class
    shares; or an int, torchmetrics' own Inception layer (whose features PRDC then reads from FID's Inception).
    With a head, `class_min_frac` and `class_max_frac` (the share of generated images predicted as each class)
    expose mode collapse (a balanced 10-class generator gives about 0.1 for both).
    """

    def __init__(self, features: nn.Module | int, head: nn.Module | None, kid_subset_size: int = 500,
                 normalize: bool = False, prdc_k: int = 5):
        super().__init__()
        self.extractor = features if isinstance(features, nn.Module) else None
        metric_features = PassThrough(features.num_features) if self.extractor is not None else features
        self.fid = FrechetInceptionDistance(feature=metric_features, reset_real_features=False, normalize=normalize)
        self.kid = KernelInceptionDistance(feature=metric_features, subset_size=kid_subset_size,
                                           reset_real_features=False, normalize=normalize)
        self.prdc = PrecisionRecallDensityCoverage(k=prdc_k)
        self.head = head
        self.inception_score = InceptionScore(feature=PassThrough(0)) if head is not None else None
        self.num_classes = 0
        self.predicted_classes = CatMetric()
        self.kid_subset_size = kid_subset_size
        self.has_real = False
        self.counts = {"real": 0, "fake": 0}

    def update(self, images: torch.Tensor, real: bool) -> None:
        features = self.extractor(images) if self.extractor is not None else images
        self.fid.update(features, real=real)
        self.kid.update(features, real=real)
        self.prdc.update(features if self.extractor is not None else self._inception_features(images), real=real)
        if not real and self.head is not None:
            class_logits = self.head(features)  # (B, K)
            self.inception_score.update(class_logits)
            self.num_classes = class_logits.shape[1]
            self.predicted_classes.update(class_logits.argmax(dim=1).float())
        self.counts["real" if real else "fake"] += images.shape[0]

    def _inception_features(self, images: torch.Tensor) -> torch.Tensor:
        """FID's own Inception features of `images`, given as FID takes them ([0, 1] floats when normalizing)."""
        return self.fid.inception((images * 255).byte() if self.fid.normalize else images)

    def compute(self) -> dict[str, float]:
        """Every rank must call this (torchmetrics syncs states across processes)."""
        self.kid.subset_size = max(2, min(self.kid_subset_size, *self.counts.values()))
        with torch.random.fork_rng(devices=[]):  # KID's random subsets: the same on every run and rank count,
            torch.manual_seed(0)                   # and the training's RNG stream is left as it was
            kid_mean, kid_std = self.kid.compute()
        values = {"fid": float(self.fid.compute()), "kid_mean": float(kid_mean), "kid_std": float(kid_std),
                  **self.prdc.compute()}
        if self.inception_score is not None:
            is_mean, is_std = self.inception_score.compute()
            values |= {"is_mean": float(is_mean), "is_std": float(is_std)}
            classes = self.predicted_classes.compute().long()
            fractions = torch.bincount(classes, minlength=self.num_classes).float() / classes.numel()
            values |= {"class_min_frac": float(fractions.min()), "class_max_frac": float(fractions.max())}
        for metric in (self.fid, self.kid, self.prdc, self.inception_score, self.predicted_classes):
            if metric is not None:
                metric.reset()
        self.counts["fake"] = 0
        return values
