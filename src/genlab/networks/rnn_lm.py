"""Recurrent language model (RNN, LSTM or GRU) with optional tied input/output embeddings."""
import torch
from torch import nn

from genlab.checks import choice, fraction, integer
from genlab.cpu_bf16 import run_recurrent

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

RNNState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # h (layers, B, H), or (h, c) for an LSTM


def checked_settings(cell, num_layers, hidden_size, embedding_dim, dropout) -> tuple[str, int, int, int, float]:
    """(cell, num_layers, hidden_size, embedding_dim, dropout) checked, each error naming its model.* key; the
    embedding is as wide as the hidden state unless set."""
    num_layers, hidden_size = integer("model.num_layers", num_layers), integer("model.hidden_size", hidden_size)
    embedding_dim = hidden_size if embedding_dim is None else integer("model.embedding_dim", embedding_dim)
    return choice("model.cell", cell, CELLS), num_layers, hidden_size, embedding_dim, fraction("model.dropout", dropout)


class RNNLM(nn.Module):
    """Token ids (B, T) [+ hidden state] → next-token logits (B, T, vocab_size) and the hidden state after them.

    embedding → dropout → rnn → dropout → (projection to embedding_dim when tied and sizes differ) → lm_head.
    """

    context_size = None  # a recurrent state conditions on every token seen, however many

    def __init__(
        self,
        vocab_size: int,
        cell: str = "lstm",
        num_layers: int = 2,
        hidden_size: int = 512,
        embedding_dim: int | None = None,
        dropout: float = 0.0,
        tie_embeddings: bool = False,
    ):
        super().__init__()
        vocab_size = integer("model.vocab_size", vocab_size)
        cell, num_layers, hidden_size, embedding_dim, dropout = checked_settings(cell, num_layers, hidden_size,
                                                                                 embedding_dim, dropout)
        self.cell, self.tie_embeddings = cell, tie_embeddings
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.rnn = CELLS[cell](
            embedding_dim, hidden_size, num_layers, dropout=dropout if num_layers > 1 else 0.0, batch_first=True
        )
        # A tied head reads embedding_dim features, so the hidden state is projected down (or up) to them first.
        needs_projection = tie_embeddings and embedding_dim != hidden_size
        self.projection = nn.Linear(hidden_size, embedding_dim) if needs_projection else nn.Identity()
        self.lm_head = nn.Linear(embedding_dim if tie_embeddings else hidden_size, vocab_size)
        if tie_embeddings:
            self.lm_head.weight = self.embedding.weight

    def forward(self, idx: torch.Tensor, state: RNNState | None = None) -> tuple[torch.Tensor, RNNState]:
        """idx (B, T) int64 after `state` (None: zeros) → logits (B, T, V) and the state after the last token."""
        x = self.dropout(self.embedding(idx))  # (B, T, E)
        outputs, state = run_recurrent(self.rnn, x, state)  # (B, T, H)
        return self.lm_head(self.projection(self.dropout(outputs))), state  # (B, T, V)

    def decode(self, idx: torch.Tensor, state: RNNState | None) -> tuple[torch.Tensor, RNNState]:
        """One generation step: the hidden state is the cache. Eager even in a compiled network (see GPT.decode)."""
        return self.forward(idx, state)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count; non_embedding leaves out the input embedding table unless it is also the tied head."""
        total = sum(p.numel() for p in self.parameters())
        lookup_only = non_embedding and not self.tie_embeddings
        return total - self.embedding.weight.numel() if lookup_only else total

    def flops_per_token(self) -> int:
        """Training FLOPs per token: 2 per weight (multiply-add) forward, x3 with the backward: 6·N (non-embedding)."""
        return 6 * self.num_parameters()
