"""CNN classifier LightningModule: the ClassifierModule loop over a LeNet-style network."""
from genlab.models.classifier import ClassifierModule
from genlab.networks.classifiers import LeNet


class CNNClassifier(ClassifierModule):
    """LeNet-style CNN classifier (see genlab.networks.classifiers.LeNet)."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        num_classes: int = 10,
        width: int = 32,
        feature_dim: int = 128,
        dropout: float = 0.25,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        lr_schedule: str = "cosine",
        warmup_steps: int = 0,
    ):
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         warmup_steps=warmup_steps)
        self.network = LeNet(channels, image_size, num_classes, width, feature_dim, dropout)
