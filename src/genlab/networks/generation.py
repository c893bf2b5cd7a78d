"""Autoregressive sampling shared by every language network (GPT, RNNLM): next-token distributions and `generate`."""
import math
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from genlab.errors import ConfigError


class IncrementalDecoder(Protocol):
    """What `generate` needs from a network: its context limit and a step that carries a state between calls."""

    training: bool

    @property
    def context_size(self) -> int | None:
        """The most tokens the network conditions on; None when unbounded (recurrent)."""

    def decode(self, idx: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """idx (B, T) after the tokens `state` holds (None: none) → logits (B, T, V) and the state after idx."""

    def train(self, mode: bool = True) -> Any:
        """nn.Module.train: generation switches to eval mode and back."""


def check_sampling(temperature: float | None, top_k: int | None, top_p: float | None) -> None:
    """ConfigError naming the first of temperature, top_k, top_p that sampling cannot use."""
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, Real) or not 0 <= temperature < math.inf
    ):
        raise ConfigError(f"temperature must be >= 0 (0 or null = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, Integral) or top_k < 1):
        raise ConfigError(f"top_k must be >= 1 (or null to keep every token), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, Real) or not 0 < top_p <= 1):
        raise ConfigError(f"top_p must be in (0, 1] (or null to keep every token), got {top_p!r}")


def next_token_distribution(
    logits: torch.Tensor, temperature: float | None = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Last-position logits (B, V) → probabilities (B, V) after temperature, top-k and nucleus (top-p) filtering."""
    check_sampling(temperature, top_k, top_p)
    if not temperature:  # greedy: all the mass on the argmax
        return F.one_hot(logits.argmax(-1), logits.size(-1)).to(logits.dtype)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth_largest, -math.inf)
    probs = F.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(-1) - sorted_probs  # (B, V) mass of the more likely tokens
        # Keep the smallest prefix whose mass reaches top_p; the first token has mass_before 0 < top_p, so it stays.
        sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


@torch.no_grad()
def generate(
    network: IncrementalDecoder,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float | None = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    on_tokens: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """Extend the prompt idx (B, T) by max_new_tokens sampled tokens → (B, T + max_new_tokens).

    The network conditions on the last `context_size` tokens. Without the cache each step re-reads them all;
    with it the prompt is fed once and then one token a step, and once the context would pass `context_size`
    the state is rebuilt from the last `context_size` tokens, so both paths condition on the same tokens.
    `on_tokens(new_ids (B,))` is called after every step (e.g. to stream text).
    """
    check_sampling(temperature, top_k, top_p)
    if idx.dim() != 2 or idx.size(1) == 0:
        raise ConfigError(f"the prompt must be token ids of shape (batch, length >= 1), got shape {tuple(idx.shape)}")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, Integral) or max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    context = network.context_size
    was_training = network.training
    network.train(False)
    try:
        state, held, feed = None, 0, idx  # held: tokens the state holds; feed: tokens it reads next
        for _ in range(max_new_tokens):
            if not use_cache or (context is not None and held + feed.size(1) > context):
                state, held, feed = None, 0, idx if context is None else idx[:, -context:]
            logits, state = network.decode(feed, state)  # (B, T, V)
            held += feed.size(1)
            probs = next_token_distribution(logits[:, -1], temperature, top_k, top_p)  # (B, V)
            feed = torch.multinomial(probs, 1, generator=generator)  # (B, 1)
            idx = torch.cat([idx, feed], dim=1)
            if on_tokens is not None:
                on_tokens(feed.squeeze(1))
    finally:
        network.train(was_training)
    return idx
