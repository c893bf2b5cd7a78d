"""FID/KID/IS/PRDC of a generator's samples: every N epochs against the val split, and at test time against test."""
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from genlab.checks import choice
from genlab.images import from_uint8
from genlab.metrics.feature_net import FeatureExtractor, build_feature_net, inception_feature, state_dict_sha256
from genlab.metrics.image_quality import ImageQuality
from genlab.metrics.protocol import measurement_protocol, protocol_hyperparams


FEATURE_NETS = ("classifier", "inception")
SAMPLE_BLOCK = 50  # generated images per seed; small, so every rank of a multi-device run gets some
INCEPTION_RESIZE = "bilinear to 299x299 (torch-fidelity Inception)"


def sample_blocks(count: int, block: int, rank: int, world_size: int) -> list[tuple[int, int]]:
    """This rank's (block index, size) pairs of `count` samples cut into blocks: block k goes to rank k mod world.

    Block k is always drawn with seed + k, so the ranks together generate exactly the images one process would:
    FID/KID/IS do not depend on the number of devices.
    """
    blocks = [(k, min(block, count - start)) for k, start in enumerate(range(0, count, block))]
    return blocks[rank::world_size]


def generates_images(module: LightningModule) -> bool:
    """Image generators have `sample()`; language models mark theirs `sample_kind = "text"`."""
    return hasattr(module, "sample") and getattr(module, "sample_kind", "images") == "images"


class SampleQuality(Callback):
    """Logs `<split>/fid`, `<split>/kid_mean`, `<split>/kid_std`, `<split>/is_mean`, `<split>/is_std`,
    `<split>/{precision,recall,density,coverage}` for models with `sample()`; `val/fid` is also logged once before
    training (the untrained generator's baseline). `protocols` holds each evaluated split's measurement protocol (see
    genlab.metrics.protocol), also logged as `metrics/protocol/<split>/<field>` hyperparameters."""

    def __init__(self, feature_net: str = "classifier", num_samples: int = 1000, every_n_epochs: int = 1,
                 cache_dir: str = ".cache", classifier_ckpt: str | None = None, inception_weights: str | None = None,
                 kid_subset_size: int = 500, at_start: bool = True, batch_size: int = 500, seed: int = 0,
                 prdc_k: int = 5):
        self.feature_net = choice("metrics.feature_net", feature_net, FEATURE_NETS)
        self.num_samples, self.every_n_epochs = num_samples, every_n_epochs
        self.cache_dir, self.classifier_ckpt, self.inception_weights = cache_dir, classifier_ckpt, inception_weights
        self.kid_subset_size, self.at_start, self.batch_size, self.seed = kid_subset_size, at_start, batch_size, seed
        self.prdc_k = prdc_k
        self.metrics: dict[str, ImageQuality] = {}
        self.extractor_id: str | None = None
        self.weights_sha256: str | None = None
        self.protocols: dict[str, dict] = {}
        self.fid_at_start: float | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not generates_images(pl_module) or self.metrics:
            return
        if self.feature_net == "inception":
            features = inception_feature(self.inception_weights)
            self.metrics = {s: ImageQuality(features, None, self.kid_subset_size, normalize=True, prdc_k=self.prdc_k) for s in ("val", "test")}
            self.extractor_id = "inception-v3-2048"
            self.weights_sha256 = state_dict_sha256(self.metrics["val"].fid.inception)
        else:
            network, self.extractor_id = build_feature_net(trainer.datamodule, self.cache_dir, self.classifier_ckpt)
            features = FeatureExtractor(network)
            self.weights_sha256 = state_dict_sha256(network)
            self.metrics = {split: ImageQuality(features, features.head, self.kid_subset_size, prdc_k=self.prdc_k) for split in ("val", "test")}
        for metric in self.metrics.values():
            metric.to(pl_module.device)
        for logger in trainer.loggers:
            logger.log_hyperparams({"metrics/feature_net": self.extractor_id})

    def state_dict(self) -> dict:
        return {"fid_at_start": self.fid_at_start}  # a resumed run keeps logging its baseline

    def load_state_dict(self, state_dict: dict) -> None:
        self.fid_at_start = state_dict.get("fid_at_start")

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        if self.feature_net != "inception":
            return images
        images = (images + 1) / 2  # Inception takes [0, 1] RGB
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images

    @torch.no_grad()
    def evaluate(self, trainer: Trainer, pl_module: LightningModule, split: str) -> dict[str, float]:
        metric = self.metrics[split]
        rank, world = trainer.global_rank, trainer.world_size
        if not metric.has_real:
            real = trainer.datamodule.real_images(split, self.num_samples)
            for start in range(0, len(real), self.batch_size):
                batch = real[start : start + self.batch_size][rank::world]
                metric.update(self._prepare(batch.to(pl_module.device)), real=True)
            metric.has_real = True
            self._record_protocol(trainer, split, len(real), real.shape)
        for index, count in sample_blocks(self.num_samples, SAMPLE_BLOCK, rank, world):
            images = from_uint8(pl_module.sample(count, seed=self.seed + index)).to(pl_module.device)
            metric.update(self._prepare(images), real=False)
        return {f"{split}/{name}": value for name, value in metric.compute().items()}

    def _record_protocol(self, trainer: Trainer, split: str, real_samples: int, image_shape: tuple[int, ...]) -> None:
        """Keep and log the split's protocol once its real reference is loaded (real count known)."""
        resize = INCEPTION_RESIZE if self.feature_net == "inception" else "none"
        self.protocols[split] = measurement_protocol(self.extractor_id, self.weights_sha256, real_samples,
                                                     self.num_samples, split, image_shape, resize)
        for logger in trainer.loggers:
            logger.log_hyperparams(protocol_hyperparams(split, self.protocols[split]))

    def _due(self, trainer: Trainer) -> bool:
        return not trainer.sanity_checking and (trainer.current_epoch + 1) % self.every_n_epochs == 0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.metrics and self.at_start and trainer.global_step == 0:
            values = self.evaluate(trainer, pl_module, "val")
            self.fid_at_start = values["val/fid"]
            for logger in trainer.loggers:
                logger.log_metrics({"val/fid_at_start": self.fid_at_start, **values}, step=0)

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.metrics and self._due(trainer):
            values = self.evaluate(trainer, pl_module, "val")
            if self.fid_at_start is not None:
                values["val/fid_at_start"] = self.fid_at_start
            pl_module.log_dict(values)

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.metrics:
            pl_module.log_dict(self.evaluate(trainer, pl_module, "test"))


def measurement_protocols(callbacks: list[Callback]) -> dict[str, dict]:
    """{split: protocol} of the splits the SampleQuality callback among `callbacks` evaluated (empty without one)."""
    return next((callback.protocols for callback in callbacks if isinstance(callback, SampleQuality)), {})
