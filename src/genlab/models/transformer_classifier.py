"""Transformer classifier: ClassifierModule (val/acc, test/acc) over genlab's Vision Transformer."""
from genlab.models.classifier import ClassifierModule
from genlab.models.optimizers import parameter_groups
from genlab.networks.vit import VisionTransformer


class TransformerClassifier(ClassifierModule):
    """ViT-style classifier (see genlab.networks.vit.VisionTransformer); weight decay on its matrices only."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        num_classes: int = 10,
        patch_size: int = 4,
        n_layer: int = 6,
        n_head: int = 4,
        n_embd: int = 128,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 0.05,
        lr_schedule: str = "cosine",
        warmup_steps: int = 200,
    ):
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         warmup_steps=warmup_steps)
        self.network = VisionTransformer(channels, image_size, num_classes, patch_size, n_layer, n_head, n_embd,
                                         dropout)

    def optimizer_groups(self) -> list[dict]:
        """No decay on norms, biases, the class token and the position table (as for the GPT)."""
        return parameter_groups(self.network, self.weight_decay)
