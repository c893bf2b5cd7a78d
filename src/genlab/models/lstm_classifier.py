"""LSTM classifier LightningModule: the ClassifierModule loop over a row-by-row LSTM."""
from genlab.models.classifier import ClassifierModule
from genlab.networks.classifiers import RowLSTM


class LSTMClassifier(ClassifierModule):
    """Row-by-row LSTM classifier (see genlab.networks.classifiers.RowLSTM)."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        num_classes: int = 10,
        hidden_size: int = 128,
        num_layers: int = 2,
        dropout: float = 0.1,
        bidirectional: bool = False,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        lr_schedule: str = "cosine",
        warmup_steps: int = 0,
    ):
        super().__init__(num_classes=num_classes, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         warmup_steps=warmup_steps)
        self.network = RowLSTM(channels, image_size, num_classes, hidden_size, num_layers, dropout, bidirectional)
