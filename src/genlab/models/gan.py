"""GANModule: manual-optimization base for GANs. One genlab step = one batch = one generator update."""
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from torch import nn

from genlab.errors import ConfigError
from genlab.images import to_uint8


def _do_nothing() -> None:
    return None


def exclude_from_step_count(optimizer) -> None:
    """Stop Lightning counting this optimizer's steps in `trainer.global_step` (Lightning #17958).

    Lightning's manual loop re-installs its counting hooks on every batch, so this is called per batch.
    """
    optimizer._on_before_step = _do_nothing
    optimizer._on_after_step = _do_nothing


class GANModule(LightningModule):
    """Alternates a discriminator step and a generator step per batch (non-saturating BCE loss).

    Subclasses set `self.generator` (z → images in [-1, 1]) and `self.discriminator` (images → logits).
    """

    def __init__(self, latent_dim: int, lr: float, lr_d: float | None, betas: tuple[float, float]):
        super().__init__()
        self.automatic_optimization = False
        self.latent_dim = latent_dim
        self.lr = lr
        self.lr_d = lr_d or lr
        self.betas = tuple(betas)
        self.generator: nn.Module
        self.discriminator: nn.Module

    def configure_optimizers(self):
        generator_opt = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas)
        discriminator_opt = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas)
        return [generator_opt, discriminator_opt]

    def noise(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(count, self.latent_dim, generator=generator).to(self.device)

    @staticmethod
    def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
        fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
        return real + fake

    @staticmethod
    def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
        """Non-saturating loss: maximize log D(G(z))."""
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    def discriminator_step(self, real: torch.Tensor, fake: torch.Tensor, optimizer) -> dict[str, torch.Tensor]:
        self.toggle_optimizer(optimizer)
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake.detach())
        loss = self.discriminator_loss(real_logits, fake_logits)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self.untoggle_optimizer(optimizer)
        return {"d_loss": loss, "d_real": torch.sigmoid(real_logits).mean(), "d_fake": torch.sigmoid(fake_logits).mean()}

    def generator_step(self, fake: torch.Tensor, optimizer) -> dict[str, torch.Tensor]:
        self.toggle_optimizer(optimizer)
        loss = self.generator_loss(self.discriminator(fake))
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self.untoggle_optimizer(optimizer)
        return {"g_loss": loss}

    def training_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        real = batch[0]
        generator_opt, discriminator_opt = self.optimizers()
        exclude_from_step_count(discriminator_opt)
        fake = self.generator(self.noise(real.shape[0]))
        stats = self.discriminator_step(real, fake, discriminator_opt)
        stats |= self.generator_step(fake, generator_opt)
        stats = {name: value.detach() for name, value in stats.items()}
        self.log_dict({f"train/{name}": value for name, value in stats.items()}, prog_bar=True, batch_size=real.shape[0])
        return stats

    def evaluation_losses(self, batch, batch_idx: int, prefix: str) -> None:
        """Both losses on held-out real images and seeded noise (same noise every evaluation)."""
        real = batch[0]
        noise = self.noise(real.shape[0], torch.Generator().manual_seed(batch_idx))
        real_logits, fake_logits = self.discriminator(real), self.discriminator(self.generator(noise))
        stats = {
            "d_loss": self.discriminator_loss(real_logits, fake_logits),
            "g_loss": self.generator_loss(fake_logits),
            "d_real": torch.sigmoid(real_logits).mean(),
            "d_fake": torch.sigmoid(fake_logits).mean(),
        }
        self.log_dict({f"{prefix}/{name}": value for name, value in stats.items()}, batch_size=real.shape[0], sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_losses(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_losses(batch, batch_idx, "test")

    @torch.no_grad()
    def sample(self, num_samples: int, seed: int | None = None, class_label: int | None = None) -> np.ndarray:
        """`num_samples` generated images as uint8 (N, H, W, C); the same seed gives the same images."""
        if num_samples <= 0:
            raise ConfigError(f"num_samples must be a positive integer, got {num_samples}")
        if class_label is not None:
            raise ConfigError(f"class_label={class_label}: {type(self).__name__} is unconditional")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        was_training = self.generator.training
        self.generator.eval()
        images = self.generator(self.noise(num_samples, generator))
        self.generator.train(was_training)
        return to_uint8(images)
