"""GANModule: manual-optimization GAN base with a stability kit. One genlab step = one generator update."""
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from genlab.compat.lightning import exclude_from_step_count, train_batch_index
from genlab.checks import fraction, integer, positive
from genlab.images import to_uint8
from genlab.models import gan_losses
from genlab.models.module import GenlabModule
from genlab.models.sample_chunks import ChunkedSampler, noise_chunks, requested_labels
from genlab.models.step_logging import logs_this_step
from genlab.networks.conditioning import apply_spectral_norm
from genlab.networks.diff_augment import DiffAugment


def ema_with_warmup(decay: float):
    """EMA update with the usual warmup, rate min(decay, (1 + n) / (10 + n)) after n updates: early averages
    forget the untrained weights quickly instead of keeping e.g. 0.999^1000 = 37 % of them after 1,000 steps."""

    def average(ema_value: torch.Tensor, value: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        if not value.is_floating_point():
            return value  # counters such as BatchNorm's num_batches_tracked
        rate = min(decay, (1.0 + float(num_averaged)) / (10.0 + float(num_averaged)))
        return torch.lerp(value, ema_value, rate)

    return average


class GANModule(ChunkedSampler, GenlabModule):
    """Discriminator step every batch, generator step every `n_critic` batches.

    Subclasses build `self.generator` (z, labels → images in [-1, 1]) and `self.discriminator` (images, labels →
    logits), then call `self.finish_setup()`. Stability kit: `loss` (bce|hinge|wgan-gp), `n_critic`,
    `gp_weight` (WGAN-GP), `r1_weight`, `spectral_norm` on D, TTUR (`lr` for G, `lr_d` for D), and an EMA copy of
    the generator (`ema_decay`) used for samples and metrics. `diffaug` (e.g. "color,translation,cutout") augments
    every image D trains on or judges for G, real and fake alike (DiffAugment, for small data sets).
    """

    loss_networks: ClassVar[dict[str, str]] = {  # the divergence guard names the network whose loss diverged
        "d_loss": "discriminator", "d_real": "discriminator", "d_fake": "discriminator", "g_loss": "generator"}

    def __init__(self, latent_dim: int, lr: float = 2e-4, lr_d: float | None = None,
                 betas: tuple[float, float] = (0.5, 0.999), num_classes: int | None = None, loss: str = "bce", n_critic: int = 1, gp_weight: float = 10.0,
                 r1_weight: float = 0.0, spectral_norm: bool = False, ema_decay: float | None = None,
                 diffaug: str | None = ""):
        super().__init__()
        self.automatic_optimization = False
        n_critic = integer("model.n_critic", n_critic)
        if ema_decay is not None:
            fraction("model.ema_decay", ema_decay, low_open=True)
        self.latent_dim, self.num_classes = integer("model.latent_dim", latent_dim), num_classes
        lr = positive("model.lr", lr)
        self.lr, self.lr_d, self.betas = lr, lr if lr_d is None else positive("model.lr_d", lr_d), tuple(betas)
        self.loss_name, self.n_critic = gan_losses.check_loss(loss), n_critic
        self.gp_weight, self.r1_weight = gp_weight, r1_weight
        self.use_spectral_norm, self.ema_decay = spectral_norm, ema_decay
        self.generator: nn.Module
        self.discriminator: nn.Module
        self.generator_ema: AveragedModel | None = None
        self.augment = DiffAugment(diffaug)

    def finish_setup(self) -> None:
        """Apply spectral norm to D and create the generator EMA once both networks exist."""
        if self.use_spectral_norm:
            apply_spectral_norm(self.discriminator)
        if self.ema_decay is not None:
            self.generator_ema = AveragedModel(self.generator, avg_fn=ema_with_warmup(self.ema_decay), use_buffers=True)
            self.generator_ema.requires_grad_(False)

    @staticmethod
    def _call(network: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Unconditional networks take only their input, so plain user modules (e.g. nn.Sequential) work."""
        return network(inputs) if labels is None else network(inputs, labels)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self._call(self.generator, z, labels)

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self._call(self.discriminator, images, labels)

    def discriminate_augmented(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D on DiffAugment-ed images (the images themselves when `diffaug` is off): what the training losses see."""
        return self.discriminate(self.augment(images), labels)

    def configure_optimizers(self):
        generator_opt = torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas)
        discriminator_opt = torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=self.betas)
        return [generator_opt, discriminator_opt]

    def noise(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(count, self.latent_dim, generator=generator).to(self.device)

    def discriminator_step(self, real, fake, labels, optimizer) -> dict[str, torch.Tensor]:
        self.toggle_optimizer(optimizer)
        discriminate = self.discriminate_augmented
        real_logits, fake_logits = discriminate(real, labels), discriminate(fake.detach(), labels)
        loss = gan_losses.discriminator_loss(self.loss_name, real_logits, fake_logits)
        if self.loss_name == "wgan-gp":
            loss = loss + self.gp_weight * gan_losses.gradient_penalty(discriminate, real, fake, labels)
        if self.r1_weight:
            loss = loss + self.r1_weight * gan_losses.r1_penalty(discriminate, real, labels)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self.untoggle_optimizer(optimizer)
        return {
            "d_loss": loss,
            "d_real": gan_losses.mean_score(self.loss_name, real_logits),
            "d_fake": gan_losses.mean_score(self.loss_name, fake_logits),
        }

    def generator_step(self, fake, labels, optimizer) -> dict[str, torch.Tensor]:
        self.toggle_optimizer(optimizer)
        loss = gan_losses.generator_loss(self.loss_name, self.discriminate_augmented(fake, labels))
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self.untoggle_optimizer(optimizer)
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        return {"g_loss": loss}

    def batch_labels(self, batch) -> torch.Tensor | None:
        return batch[1] if self.num_classes else None

    def training_step(self, batch, batch_idx: int) -> dict[str, torch.Tensor]:
        real, labels = batch[0], self.batch_labels(batch)
        generator_opt, discriminator_opt = self.optimizers()
        exclude_from_step_count(discriminator_opt)
        fake = self.generate(self.noise(real.shape[0]), labels)
        stats = self.discriminator_step(real, fake, labels, discriminator_opt)
        if (train_batch_index(self.trainer) + 1) % self.n_critic == 0:  # counts across epochs
            stats |= self.generator_step(fake, labels, generator_opt)
        stats = {name: value.detach() for name, value in stats.items()}
        if logs_this_step(self):
            self.log_dict({f"train/{name}": value for name, value in stats.items()}, prog_bar=True,
                          batch_size=real.shape[0])
        return stats

    def evaluation_losses(self, batch, batch_idx: int, prefix: str) -> None:
        """Both losses on held-out real images and seeded noise (same noise every evaluation)."""
        real, labels = batch[0], self.batch_labels(batch)
        noise = self.noise(real.shape[0], torch.Generator().manual_seed(batch_idx))
        real_logits = self.discriminate(real, labels)
        fake_logits = self.discriminate(self.generate(noise, labels), labels)
        stats = {
            "d_loss": gan_losses.discriminator_loss(self.loss_name, real_logits, fake_logits),
            "g_loss": gan_losses.generator_loss(self.loss_name, fake_logits),
            "d_real": gan_losses.mean_score(self.loss_name, real_logits),
            "d_fake": gan_losses.mean_score(self.loss_name, fake_logits),
        }
        self.log_dict({f"{prefix}/{name}": value for name, value in stats.items()}, batch_size=real.shape[0], sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_losses(batch, batch_idx, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_losses(batch, batch_idx, "test")

    @torch.no_grad()
    def sample_chunks(self, num_samples: int, seed: int | None = None,
                      class_label: int | None = None) -> Iterator[np.ndarray]:
        """`sample`'s images from the EMA generator when there is one, a chunk per forward pass so float activations
        stay bounded; the seed alone fixes them."""
        labels = requested_labels(self, num_samples, class_label)
        network = self.generator_ema.module if self.generator_ema is not None else self.generator
        for start, noise in noise_chunks(num_samples, self.latent_dim, seed):
            chunk_labels = None if labels is None else labels[start : start + len(noise)]
            was_training = network.training
            network.eval()
            images = self._call(network, noise.to(self.device), chunk_labels)
            network.train(was_training)
            yield to_uint8(images)
