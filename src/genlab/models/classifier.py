"""ClassifierModule: cross-entropy image classifiers (baselines, and the feature nets of FID and label checks)."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from genlab.checks import choice, integer, number, positive
from genlab.models.lr_schedules import per_step, total_optimizer_steps, warmup_cosine
from genlab.models.module import GenlabModule

LR_SCHEDULES = ("constant", "cosine")


class ClassifierModule(GenlabModule):
    """Trains `self.network` (images (B, C, H, W) in [-1, 1] → logits (B, num_classes)) with AdamW.

    Subclasses set `self.network`, which must also offer `features(images) -> (B, num_features)`.
    """

    def __init__(
        self,
        num_classes: int,
        lr: float,
        weight_decay: float,
        lr_schedule: str = "cosine",
        warmup_steps: int = 0,
    ):
        super().__init__()
        choice("model.lr_schedule", lr_schedule, LR_SCHEDULES)
        self.num_classes = num_classes
        self.lr, self.weight_decay = positive("model.lr", lr), number("model.weight_decay", weight_decay)
        self.lr_schedule = lr_schedule
        self.warmup_steps = integer("model.warmup_steps", warmup_steps, 0)
        self.network: nn.Module
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The network's penultimate activations (B, num_features)."""
        return self.network.features(images)

    @property
    def num_features(self) -> int:
        return self.network.num_features

    def optimizer_groups(self) -> list[dict]:
        """AdamW's parameter groups: every parameter decayed alike (members may exempt some)."""
        return [{"params": list(self.parameters())}]

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.optimizer_groups(), lr=self.lr, weight_decay=self.weight_decay)
        if self.lr_schedule == "constant" and self.warmup_steps == 0:
            return optimizer
        decay = self.lr_schedule == "cosine"
        total_steps = total_optimizer_steps(self.trainer, "model.lr_schedule=cosine") if decay else 0
        return per_step(optimizer, warmup_cosine(self.warmup_steps, total_steps, decay=decay))

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        self.train_acc(logits, labels)
        self.log("train/loss", loss, prog_bar=True, batch_size=labels.shape[0])
        self.log("train/acc", self.train_acc, prog_bar=True, batch_size=labels.shape[0])
        return loss

    def evaluation_step(self, batch, prefix: str, accuracy: MulticlassAccuracy) -> None:
        images, labels = batch
        logits = self(images)
        accuracy.update(logits, labels)
        size = labels.shape[0]
        self.log(f"{prefix}/loss", F.cross_entropy(logits, labels), batch_size=size, sync_dist=True)
        self.log(f"{prefix}/acc", accuracy, batch_size=size, prog_bar=True)  # the metric object syncs itself

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "val", self.val_acc)

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "test", self.test_acc)

    @torch.no_grad()
    def predict_classes(self, images, batch_size: int = 512) -> torch.Tensor:
        """Predicted labels (N,) int64 for images (N, C, H, W) in [-1, 1], or uint8 (N, H, W, C) as `sample` returns."""
        if isinstance(images, np.ndarray):
            if images.dtype != np.uint8 or images.ndim != 4:
                raise ValueError(f"expected uint8 images (N, H, W, C), got {images.dtype} {images.shape}")
            images = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (N, C, H, W)
        was_training = self.training
        self.eval()
        try:
            labels = [self(chunk.to(self.device)).argmax(dim=1).cpu() for chunk in images.split(batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(labels) if labels else torch.empty(0, dtype=torch.long)
