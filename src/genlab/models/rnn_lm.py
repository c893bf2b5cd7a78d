"""RNN LightningModule: the LanguageModel training loop over an RNN, LSTM or GRU network."""
from genlab.models.language_model import LanguageModel
from genlab.networks.rnn_lm import RNNLM, checked_settings


class RNNLanguageModel(LanguageModel):
    """Recurrent LM (`cell: rnn|lstm|gru`); sampling carries the hidden state."""

    def __init__(self, vocab_size: int | None = None, cell: str = "lstm", num_layers: int = 2, hidden_size: int = 512,
                 embedding_dim: int | None = None, dropout: float = 0.0, tie_embeddings: bool = False,
                 lr: float = 2e-3, min_lr: float = 2e-4, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.99), warmup_steps: int = 100, lr_decay_steps: int | None = None,
                 sample_prompt: str = "\n", sample_tokens: int = 200, temperature: float = 0.8,
                 top_k: int | None = 200, optimizer: str = "adamw", muon_lr: float = 0.02, muon_momentum: float = 0.95,
                 schedule: str = "cosine", cooldown_fraction: float = 0.5):
        super().__init__(vocab_size=vocab_size, lr=lr, min_lr=min_lr, weight_decay=weight_decay, betas=betas,
                         warmup_steps=warmup_steps, lr_decay_steps=lr_decay_steps, sample_prompt=sample_prompt,
                         sample_tokens=sample_tokens, temperature=temperature, top_k=top_k,
                         optimizer=optimizer, muon_lr=muon_lr, muon_momentum=muon_momentum, schedule=schedule,
                         cooldown_fraction=cooldown_fraction)
        checked_settings(cell, num_layers, hidden_size, embedding_dim, dropout)  # now, before the data is read
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        self.embedding_dim, self.dropout, self.tie_embeddings = embedding_dim, dropout, tie_embeddings
        self.finish_setup()

    def build_network(self, vocab_size: int) -> RNNLM:
        return RNNLM(vocab_size, self.cell, self.num_layers, self.hidden_size, self.embedding_dim, self.dropout,
                     self.tie_embeddings)
