"""GPT (nanoGPT-style): a pre-norm transformer with tied embeddings and a KV cache; causal for generation,
bidirectional for encoders (the ViT classifier reuses its blocks). Options of the modern recipes (rotary positions,
RMSNorm, QK-norm, ReLU²/SwiGLU MLPs, an untied head, zero-initialised projections, logit soft-capping) default off."""
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genlab.errors import ConfigError
from genlab.checks import choice, fraction, integer, number
from genlab.networks.transformer_parts import MLP, MLPS, NORMS, Rotary, norm_layer, qk_norm, rotate, softcap


@dataclass
class KVCache:
    """Keys and values of the tokens decoded so far, per layer, in buffers of `capacity` positions allocated on the
    first step (a growing concatenation would copy the whole cache at every step)."""

    capacity: int
    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)

    @property
    def length(self) -> int:
        """How many tokens the cache holds, i.e. the position of the next token."""
        return self.lengths[0] if self.lengths else 0

    def extend(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append new k, v (B, nh, T, hs) to `layer`'s and return all of that layer's (B, nh, t + T, hs)."""
        if layer == len(self.keys):
            shape = (*k.shape[:2], self.capacity, k.size(3))
            self.keys.append(k.new_empty(shape))
            self.values.append(v.new_empty(shape))
            self.lengths.append(0)
        start, end = self.lengths[layer], self.lengths[layer] + k.size(2)
        self.keys[layer][:, :, start:end] = k
        self.values[layer][:, :, start:end] = v
        self.lengths[layer] = end
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]


class SelfAttention(nn.Module):
    """Multi-head self-attention, causal or not: one fused q/k/v projection, then scaled_dot_product_attention."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool, causal: bool = True,
                 attention_dropout: float | None = None, normalize_qk: bool = False):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)
        self.n_head = n_head
        self.dropout = dropout if attention_dropout is None else attention_dropout  # on the attention weights
        self.causal, self.normalize_qk = causal, normalize_qk

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                rotary: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, T, C); `rotary`: the (cos, sin) tables of the new tokens' positions when positions are rotary."""
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        if self.normalize_qk:
            q, k = qk_norm(q), qk_norm(k)
        if rotary is not None:
            q, k = rotate(q, *rotary), rotate(k, *rotary)
        if cache is not None:
            k, v = cache.extend(layer, k, v)  # (B, nh, past + T, hs)
        past = k.size(2) - T
        # With cached tokens, is_causal would align the triangle to the top left; new token i sees past + i + 1 keys.
        mask = None if not self.causal or past == 0 or T == 1 else \
            torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal and past == 0,
        )  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    """Transformer block with pre-norm residual branches: x + attn(ln(x)), then x + mlp(ln(x)).

    `attention_dropout` (default: `dropout`, as nanoGPT) drops attention weights; above 0 it takes PyTorch's CPU
    attention off its fused kernel (several times slower), so encoders may keep it at 0. `norm` is layernorm or
    rmsnorm, `mlp` gelu, relu2 or swiglu; `qk_norm` RMS-normalises queries and keys."""

    def __init__(self, n_embd: int, n_head: int, dropout: float, bias: bool, causal: bool = True,
                 attention_dropout: float | None = None, norm: str = "layernorm", mlp: str = "gelu",
                 qk_norm: bool = False):
        super().__init__()
        norm = choice("model.network.norm", norm, NORMS)
        self.ln_1 = norm_layer(norm, n_embd, bias)
        self.attn = SelfAttention(n_embd, n_head, dropout, bias, causal,
                                  dropout if attention_dropout is None else attention_dropout, qk_norm)
        self.ln_2 = norm_layer(norm, n_embd, bias)
        self.mlp = MLP(n_embd, dropout, bias, mlp)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0,
                rotary: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer, rotary)
        return x + self.mlp(self.ln_2(x))


class GridPositions(nn.Module):
    """Learned position embeddings of a raster-ordered grid (rows x columns [x channels]): one table per axis, summed,
    so position p of a (H, W, C) raster gets row[p // (W·C)] + column[p // C % W] (+ channel[p % C])."""

    def __init__(self, rows: int, columns: int, channels: int, n_embd: int):
        super().__init__()
        self.columns, self.channels = columns, channels
        self.row = nn.Embedding(rows, n_embd)
        self.column = nn.Embedding(columns, n_embd)
        self.channel = nn.Embedding(channels, n_embd) if channels > 1 else None

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        pixel = positions // self.channels
        x = self.row(pixel // self.columns) + self.column(pixel % self.columns)
        return x if self.channel is None else x + self.channel(positions % self.channels)


NETWORK_OPTIONS = {"rope": False, "norm": "layernorm", "qk_norm": False, "mlp": "gelu", "tie_embeddings": True,
                   "zero_init": False, "logit_softcap": None}  # GPT's keyword options and their defaults


def network_options(options) -> dict:
    """`model.network` (a mapping of NETWORK_OPTIONS, None: all defaults) as GPT keyword arguments, checked."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(NETWORK_OPTIONS))
    if unknown:
        raise ConfigError(f"model.network.{unknown[0]} is not a GPT option (valid: {', '.join(NETWORK_OPTIONS)})")
    for key in ("rope", "qk_norm", "tie_embeddings", "zero_init"):
        if not isinstance(options.get(key, False), bool):
            raise ConfigError(f"model.network.{key} must be true or false, got {options[key]!r}")
    options = {**NETWORK_OPTIONS, **options}
    choice("model.network.norm", options["norm"], NORMS)
    choice("model.network.mlp", options["mlp"], MLPS)
    if options["logit_softcap"] is not None:
        number("model.network.logit_softcap", options["logit_softcap"], 1e-6)
    return options


def checked_sizes(n_layer, n_head, n_embd, dropout) -> tuple[int, int, int, float]:
    """(n_layer, n_head, n_embd, dropout) checked, each error naming its model.* key."""
    n_layer, n_head, n_embd = integer("model.n_layer", n_layer), integer("model.n_head", n_head), integer("model.n_embd", n_embd)
    dropout = fraction("model.dropout", dropout)
    if n_embd % n_head:
        raise ConfigError(
            f"model.n_embd={n_embd} must be divisible by model.n_head={n_head} (each head gets n_embd/n_head dims)"
        )
    return n_layer, n_head, n_embd, dropout


def init_gpt_weights(module: nn.Module) -> None:
    """GPT-2 init: linear and embedding weights ~ N(0, 0.02), biases zero (LayerNorms keep ones and zeros)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def init_residual_projections(network: nn.Module, n_layer: int, zero: bool = False) -> None:
    """Residual projections ~ N(0, 0.02 / sqrt(2 · n_layer)), keeping the residual stream's variance O(1); or zero."""
    for name, parameter in network.named_parameters():
        if name.endswith("c_proj.weight"):
            nn.init.zeros_(parameter) if zero else nn.init.normal_(parameter, 0.0, 0.02 / math.sqrt(2 * n_layer))


class GPT(nn.Module):
    """Token ids (B, T) → next-token logits (B, T, vocab_size); pass a KVCache to decode incrementally.

    Parameter names follow nanoGPT (transformer.wte, transformer.h.0.attn.c_attn, ...), so its checkpoints load.
    `grid=(rows, columns, channels)` replaces the 1-D position table by GridPositions (Image GPT's raster order);
    `causal=False` makes every block attend both ways. `rope` rotates queries and keys by position instead of a
    learned 1-D table; `tie_embeddings=False` gives the output head its own matrix; `zero_init` starts every residual
    projection (and an untied head) at zero, so each block begins as the identity; `logit_softcap` bounds the logits.
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
        causal: bool = True,
        grid: tuple[int, int, int] | None = None,
        rope: bool = False,
        norm: str = "layernorm",
        qk_norm: bool = False,
        mlp: str = "gelu",
        tie_embeddings: bool = True,
        zero_init: bool = False,
        logit_softcap: float | None = None,
    ):
        super().__init__()
        vocab_size, block_size = integer("model.vocab_size", vocab_size), integer("model.block_size", block_size)
        n_layer, n_head, n_embd, dropout = checked_sizes(n_layer, n_head, n_embd, dropout)
        self.vocab_size, self.block_size = vocab_size, block_size
        self.n_layer, self.n_head, self.n_embd = n_layer, n_head, n_embd
        self.logit_softcap = None if logit_softcap is None else number("model.network.logit_softcap", logit_softcap, 1e-6)
        self.rotary = Rotary(n_embd // n_head, block_size) if rope else None
        positions = GridPositions(*grid, n_embd) if grid is not None else None if rope else nn.Embedding(block_size, n_embd)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd),  # token embeddings (shared with lm_head unless untied)
            **({} if positions is None else {"wpe": positions}),  # learned positions (nanoGPT's module order)
            drop=nn.Dropout(dropout),
            h=nn.ModuleList(Block(n_embd, n_head, dropout, bias, causal, norm=norm, mlp=mlp, qk_norm=qk_norm)
                            for _ in range(n_layer)),
            ln_f=norm_layer(choice("model.network.norm", norm, NORMS), n_embd, bias),
        ))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.tied = tie_embeddings
        if tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight  # weight tying (Press & Wolf 2017)
        self.apply(init_gpt_weights)
        init_residual_projections(self, n_layer, zero=zero_init)
        if zero_init and not tie_embeddings:
            nn.init.zeros_(self.lm_head.weight)

    @property
    def context_size(self) -> int:
        """The most tokens the model conditions on (generation's context rule)."""
        return self.block_size

    def hidden_matrices(self) -> list[nn.Parameter]:
        """The blocks' weight matrices: what Muon orthogonalises (embeddings, head, norms and biases stay with AdamW)."""
        return [module.weight for module in self.transformer.h.modules() if isinstance(module, nn.Linear)]

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
        x = self.transformer.wte(idx)  # (B, T, C)
        if "wpe" in self.transformer:
            x = x + self.transformer.wpe(positions)
        x = self.transformer.drop(x)
        rotary = self.rotary(positions) if self.rotary is not None else None
        for layer, block in enumerate(self.transformer.h):
            x = block(x, cache, layer, rotary)
        return softcap(self.lm_head(self.transformer.ln_f(x)), self.logit_softcap)  # (B, T, V)

    def decode(self, idx: torch.Tensor, cache: KVCache | None) -> tuple[torch.Tensor, KVCache]:
        """One generation step: idx (B, T) after the cached tokens (None: none) → logits (B, T, V), grown cache.

        Runs `forward` eagerly even when the network is compiled (`model.compile=true`): the cache grows every
        step, and compiled code would recompile for each new length."""
        cache = KVCache(self.block_size) if cache is None else cache
        return self.forward(idx, cache), cache

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count; non_embedding leaves out the lookup tables (positions, and the token table when the
        head is untied: a tied table is also the head's matrix)."""
        total = sum(p.numel() for p in self.parameters())
        if not non_embedding:
            return total
        lookups = [*self.transformer.wpe.parameters()] if "wpe" in self.transformer else []
        if not self.tied:
            lookups.append(self.transformer.wte.weight)
        return total - sum(p.numel() for p in lookups)

    def flops_per_token(self) -> int:
        """Training (forward + backward) FLOPs per token at full context: nanoGPT's 6N + 12·L·H·Q·T (PaLM)."""
        L, H, Q, T = self.n_layer, self.n_head, self.n_embd // self.n_head, self.block_size
        return 6 * self.num_parameters() + 12 * L * H * Q * T
