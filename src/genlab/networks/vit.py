"""Vision Transformer (Dosovitskiy et al. 2021, small): non-overlapping patches linearly embedded, a class token,
bidirectional blocks of genlab's GPT, and a linear head on the class token's final state."""
import torch
from torch import nn

from genlab.checks import integer
from genlab.errors import ConfigError
from genlab.networks.classifiers import image_args
from genlab.networks.gpt import Block, checked_sizes, init_gpt_weights, init_residual_projections


class VisionTransformer(nn.Module):
    """images (B, C, S, S) in [-1, 1] → logits (B, num_classes); `features` gives the class token's (B, n_embd)."""

    def __init__(self, channels: int = 1, image_size: int = 28, num_classes: int = 10, patch_size: int = 4,
                 n_layer: int = 6, n_head: int = 4, n_embd: int = 128, dropout: float = 0.1, bias: bool = True):
        super().__init__()
        channels, image_size, num_classes = image_args(channels, image_size, num_classes)
        patch_size = integer("model.patch_size", patch_size)
        if image_size % patch_size:
            raise ConfigError(f"model.patch_size={patch_size} must divide model.image_size={image_size} (the patches "
                              "tile the image)")
        n_layer, n_head, n_embd, dropout = checked_sizes(n_layer, n_head, n_embd, dropout)
        self.patch_size, self.num_features = patch_size, n_embd
        num_patches = (image_size // patch_size) ** 2
        self.patch_embed = nn.Linear(channels * patch_size * patch_size, n_embd)
        self.class_token = nn.Embedding(1, n_embd)  # an embedding, so AdamW's groups leave it undecayed
        self.position = nn.Embedding(num_patches + 1, n_embd)  # the class token's, then each patch's
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(n_embd, n_head, dropout, bias, causal=False, attention_dropout=0.0)
                                    for _ in range(n_layer))  # dropout on the residual branches only
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, num_classes)
        self.apply(init_gpt_weights)
        init_residual_projections(self, n_layer)

    def patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) → (B, (S/P)^2, C·P·P): non-overlapping P x P patches in raster order."""
        P = self.patch_size
        B, C, H, W = images.shape
        grid = images.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
        return grid.reshape(B, (H // P) * (W // P), C * P * P)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The class token's final state (B, n_embd), after it attended to every patch."""
        tokens = self.patch_embed(self.patches(images))  # (B, N, C)
        x = torch.cat([self.class_token.weight.expand(len(tokens), 1, -1), tokens], dim=1)  # (B, 1 + N, C)
        x = self.drop(x + self.position(torch.arange(x.size(1), device=x.device)))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x[:, 0])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
