"""GPT language model (nanoGPT-style): a pre-LayerNorm causal transformer with tied embeddings and a KV cache."""
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ConfigError
from genlab.checks import fraction, integer


@dataclass
class KVCache:
    """Keys and values of the tokens decoded so far: one (B, n_head, t, head_dim) pair per layer."""

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)

    @property
    def length(self) -> int:
        """How many tokens the cache holds, i.e. the position of the next token."""
        return self.keys[0].size(2) if self.keys else 0

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new k, v (B, nh, T, hs) to `layer`'s and return all of that layer's (B, nh, t + T, hs)."""
        if layer == len(self.keys):
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one fused q/k/v projection, then PyTorch's scaled_dot_product_attention."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head = n_head
        self.dropout = dropout

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if cache is not None:
            k, v = cache.extend(layer, k, v)  # (B, nh, past + T, hs)
        past = k.size(2) - T
        # With cached tokens, is_causal would align the triangle to the top left; new token i sees past + i + 1 keys.
        mask = None if past == 0 or T == 1 else torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=past == 0
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: n_embd → 4·n_embd → GELU → n_embd."""

    def __init__(self, n_embd: int, dropout: float, bias: bool):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Transformer block with pre-LayerNorm residual branches: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


def init_gpt_weights(module: nn.Module) -> None:
    """GPT-2 init: linear and embedding weights ~ N(0, 0.02), biases zero (LayerNorms keep ones and zeros)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


class GPT(nn.Module):
    """Token ids (B, T) → next-token logits (B, T, vocab_size); pass a KVCache to decode incrementally.

    Parameter names follow nanoGPT (transformer.wte, transformer.h.0.attn.c_attn, ...), so its checkpoints load.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 256,
        n_layer: int = 6,
        n_head: int = 6,
        n_embd: int = 384,
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        vocab_size, block_size = integer("model.vocab_size", vocab_size), integer("model.block_size", block_size)
        n_layer, n_head, n_embd = integer("model.n_layer", n_layer), integer("model.n_head", n_head), integer("model.n_embd", n_embd)
        dropout = fraction("model.dropout", dropout)
        if n_embd % n_head:
            raise ConfigError(
                f"model.n_embd={n_embd} must be divisible by model.n_head={n_head} (each head gets n_embd/n_head dims)"
            )
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),  # token embeddings, shared with lm_head
            wpe=nn.Embedding(block_size, n_embd),  # learned position embeddings
            drop=nn.Dropout(dropout),
            h=nn.ModuleList(Block(n_embd, n_head, dropout, bias) for _ in range(n_layer)),
            ln_f=nn.LayerNorm(n_embd, bias=bias),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying (Press & Wolf 2017)
        self.apply(init_gpt_weights)
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):  # residual projections: keep the residual stream's variance O(1)
                nn.init.normal_(parameter, 0.0, 0.02 / math.sqrt(2 * n_layer))

    @property
    def context_size(self) -> int:
        """The most tokens the model conditions on (generation's context rule)."""
        return self.block_size

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """idx (B, T) int64 → logits (B, T, V); with a cache, idx follows its tokens and is appended to it."""
        B, T = idx.size()
        past = cache.length if cache is not None else 0
        if past + T > self.block_size:
            tokens = f"{past} cached + {T} new tokens" if past else f"a sequence of {T} tokens"
            raise ConfigError(
                f"{tokens} exceed model.block_size={self.block_size}: feed at most the last {self.block_size} tokens"
            )
        positions = torch.arange(past, past + T, device=idx.device)  # (T,)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(positions))  # (B, T, C)
        for layer, block in enumerate(self.transformer.h):
            x = block(x, cache, layer)
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, V)

    def decode(self, idx: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One generation step: idx (B, T) after the cached tokens (None: none) → logits (B, T, V), grown cache.

        Runs `forward` eagerly even when the network is compiled (`model.compile=true`): the cache grows every
        step, and compiled code would recompile for each new length."""
        cache = KVCache() if cache is None else cache
        return self.forward(idx, cache), cache

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count; non_embedding leaves out the position table (the token table is also the lm_head)."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.transformer.wpe.weight.numel() if non_embedding else total

    def flops_per_token(self) -> int:
        """Training (forward + backward) FLOPs per token at full context: nanoGPT's 6N + 12·L·H·Q·T (PaLM)."""
        L, H, Q, T = self.n_layer, self.n_head, self.n_embd // self.n_head, self.block_size
        return 6 * self.num_parameters() + 12 * L * H * Q * T
