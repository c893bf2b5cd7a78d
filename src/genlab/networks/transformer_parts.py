"""Optional Transformer parts of the modern GPT recipes: rotary positions, RMSNorm, QK-norm, ReLU² and SwiGLU MLPs,
and logit soft-capping. Pure torch; genlab.networks.gpt picks them by name."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from genlab.checks import choice
from genlab.errors import ConfigError

NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "relu2", "swiglu")


def norm_layer(kind: str, n_embd: int, bias: bool) -> nn.Module:
    """LayerNorm (nanoGPT's, optional bias) or RMSNorm (scale only; no mean subtraction)."""
    return nn.LayerNorm(n_embd, bias=bias) if kind == "layernorm" else nn.RMSNorm(n_embd)


class Rotary(nn.Module):
    """Rotary position embeddings (Su et al. 2021): rotates each (x_i, x_{i+hs/2}) pair of a head's queries and keys
    by a position-proportional angle, so q·k depends on the positions' difference only. Tables are not saved."""

    def __init__(self, head_size: int, max_positions: int, base: float = 10000.0):
        super().__init__()
        if head_size % 2:
            raise ConfigError(f"model.network.rope=true needs an even head size (n_embd / n_head), got {head_size}")
        frequencies = base ** (-torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)  # (hs/2,)
        angles = torch.outer(torch.arange(max_positions, dtype=torch.float32), frequencies)  # (P, hs/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, sin) tables (T, hs/2) of `positions` (T,)."""
        return self.cos[positions], self.sin[positions]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, nh, T, hs) rotated by the (T, hs/2) angle tables."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


def qk_norm(x: torch.Tensor) -> torch.Tensor:
    """RMS-normalise each head's queries or keys (B, nh, T, hs): bounded attention logits at high learning rates."""
    return F.rms_norm(x, (x.size(-1),))


def softcap(logits: torch.Tensor, cap: float | None) -> torch.Tensor:
    """cap · tanh(logits / cap): logits smoothly bounded to (-cap, cap); None leaves them as they are."""
    return logits if cap is None else cap * torch.tanh(logits / cap)


def swiglu_hidden(n_embd: int) -> int:
    """SwiGLU's hidden width: 8/3 · n_embd (the parameters of a 4x GELU MLP), rounded up to a multiple of 8."""
    return 8 * math.ceil(n_embd / 3)


class MLP(nn.Module):
    """Position-wise feed-forward, n_embd → hidden → n_embd: GELU or ReLU² over 4·n_embd, or SwiGLU (the gate and
    the value come from one `c_fc` projection)."""

    def __init__(self, n_embd: int, dropout: float, bias: bool, kind: str = "gelu"):
        super().__init__()
        self.kind = choice("model.network.mlp", kind, MLPS)
        hidden = swiglu_hidden(n_embd) if kind == "swiglu" else 4 * n_embd
        self.c_fc = nn.Linear(n_embd, 2 * hidden if kind == "swiglu" else hidden, bias=bias)
        self.gelu = nn.GELU() if kind == "gelu" else None  # nanoGPT's module name, so its checkpoints load
        self.c_proj = nn.Linear(hidden, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def activation(self, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "gelu":
            return self.gelu(h)
        if self.kind == "relu2":
            return F.relu(h).square()
        gate, value = h.chunk(2, dim=-1)
        return F.silu(gate) * value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.activation(self.c_fc(x))))
