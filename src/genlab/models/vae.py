"""VAEModule: ELBO training, importance-weighted test NLL, sampling, reconstruction and interpolation.

All losses are nats per image: summed over pixels, averaged over the batch.
- likelihood=bernoulli: pixels are dynamically binarized (pixel ~ Bernoulli((x + 1) / 2), fresh each
  training batch, seeded per batch at validation/test) and the decoder's logits are Bernoulli logits.
- likelihood=gaussian: pixels are intensities u = (x + 1) / 2 in [0, 1]; p(u|z) = N(sigmoid(logits), σ²)
  with one learned log-variance per channel (`decoder_logvar`, clamped at -10); nats of a density on [0, 1]
  (subtract H·W·C·ln 2 for a density on [-1, 1]; negative values are normal for a continuous density).
Logged as train/, val/ and test/: elbo = -(recon + kl), recon = -log p(x|z), kl, and loss = recon + w·kl, where w
is beta (warmed up over kl_warmup_steps in training only). test/nll_iw is the importance-weighted NLL, the number
comparable with the literature. A conditional model (num_classes set) reports -log p(x|y), not -log p(x).
"""
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from genlab.checks import choice, integer, positive
from genlab.errors import ConfigError
from genlab.images import to_uint8
from genlab.models.lr_schedules import total_optimizer_steps
from genlab.models.module import GenlabModule
from genlab.models.sample_chunks import ChunkedSampler, noise_chunks, requested_labels
from genlab.networks.vae import build_vae_networks

LIKELIHOODS = ("bernoulli", "gaussian")
LR_SCHEDULES = ("constant", "cosine")
IW_DECODE_ROWS = 1024  # most (sample, image) pairs decoded at once by the importance-weighted NLL
TEST_SEED_OFFSET = 1_000_003  # test batches draw other binarizations than the val batches with the same index


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(x; mean, exp(logvar))."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (x - mean) ** 2 * torch.exp(-logvar))


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) per row, (B, L) → (B,)."""
    return 0.5 * (mean**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)


class VAEModule(ChunkedSampler, GenlabModule):
    """Gaussian-latent VAE base; subclasses set `self.encoder` (images, labels → mean, logvar) and `self.decoder`."""

    def __init__(self, image_size: int, channels: int, latent_dim: int, likelihood: str, num_classes: int | None,
                 lr: float, lr_schedule: str, beta: float, kl_warmup_steps: int, iw_samples: int):
        super().__init__()
        choice("model.lr_schedule", lr_schedule, LR_SCHEDULES)
        choice("model.likelihood", likelihood, LIKELIHOODS)
        if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                        or num_classes < 2):
            raise ConfigError(f"model.num_classes must be null (unconditional) or an integer >= 2, got {num_classes!r}")
        for key, value, minimum in (("beta", beta, 0), ("kl_warmup_steps", kl_warmup_steps, 0),
                                    ("iw_samples", iw_samples, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise ConfigError(f"model.{key} must be a number >= {minimum}, got {value!r}")
        self.image_size, self.channels, self.latent_dim = image_size, channels, integer("model.latent_dim", latent_dim)
        self.likelihood, self.num_classes = likelihood, num_classes
        self.lr_schedule = lr_schedule
        self.lr, self.beta = positive("model.lr", lr), float(beta)
        self.kl_warmup_steps, self.iw_samples = int(kl_warmup_steps), int(iw_samples)
        if likelihood == "gaussian":
            self.decoder_logvar = torch.nn.Parameter(torch.full((channels,), -4.0))  # σ ≈ 0.14 to start

    def configure_optimizers(self):
        """Adam; lr_schedule=cosine anneals the rate to 0 over the run's training steps (stepped per batch)."""
        optimizer = torch.optim.Adam(self.parameters(), lr=self.lr)
        if self.lr_schedule == "constant":
            return optimizer
        total_steps = total_optimizer_steps(self.trainer, "model.lr_schedule=cosine")
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total_steps))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    # ---- likelihood -------------------------------------------------------------------------------
    def uniform(self, shape, generator: torch.Generator | None) -> torch.Tensor:
        if generator is None:
            return torch.rand(shape, device=self.device)
        return torch.rand(shape, generator=generator).to(self.device)  # CPU generator: same numbers on any device

    def normal(self, shape, generator: torch.Generator | None) -> torch.Tensor:
        if generator is None:
            return torch.randn(shape, device=self.device)
        return torch.randn(shape, generator=generator).to(self.device)

    def targets(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What p(x|z) models: binarized pixels (bernoulli) or intensities in [0, 1] (gaussian); (B, C, H, W)."""
        intensity = ((images + 1.0) / 2.0).clamp(0.0, 1.0)
        if self.likelihood == "gaussian":
            return intensity
        return (self.uniform(images.shape, generator) < intensity).to(images.dtype)

    def log_likelihood(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(targets | z) summed over pixels, (B, C, H, W) → (B,)."""
        if self.likelihood == "bernoulli":
            log_p = -F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        else:
            logvar = self.decoder_logvar.clamp(min=-10.0).view(1, -1, 1, 1)
            log_p = gaussian_log_density(targets, torch.sigmoid(logits), logvar)
        return log_p.flatten(1).sum(dim=1)

    # ---- encoder / decoder ------------------------------------------------------------------------
    def check_labels(self, labels: torch.Tensor | None, count: int) -> torch.Tensor | None:
        """Labels the networks should see: None for unconditional models (any given labels are ignored)."""
        if not self.num_classes:
            return None
        if labels is None:
            raise ConfigError(
                f"labels: {type(self).__name__} is conditional on {self.num_classes} classes; pass the images' labels"
            )
        labels = torch.as_tensor(labels, dtype=torch.long, device=self.device).reshape(-1)
        if labels.numel() != count:
            raise ConfigError(f"labels: expected {count} labels, got {labels.numel()}")
        return labels

    def encode(self, targets: torch.Tensor, labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) of likelihood targets, fed to the encoder on the [-1, 1] scale; mean, logvar (B, L)."""
        return self.encoder(targets * 2.0 - 1.0, labels)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.decoder(z, labels)  # (B, C, H, W) logits

    def elbo_terms(self, targets: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None = None):
        """Per-image reconstruction loss -log p(x|z) (one reparameterized z) and KL(q(z|x) || p(z)), each (B,)."""
        mean, logvar = self.encode(targets, labels)
        z = mean + torch.exp(0.5 * logvar) * self.normal(mean.shape, generator)
        recon = -self.log_likelihood(self.decode(z, labels), targets)
        return recon, kl_to_standard_normal(mean, logvar)

    def kl_weight(self) -> float:
        """beta, linearly warmed up from 0 over the first kl_warmup_steps training steps."""
        if self.kl_warmup_steps <= 0:
            return self.beta
        return self.beta * min(1.0, self.global_step / self.kl_warmup_steps)

    @torch.no_grad()
    def importance_weighted_nll(self, targets: torch.Tensor, labels: torch.Tensor | None, num_samples: int,
                                generator: torch.Generator | None = None) -> torch.Tensor:
        """-log (1/k Σ_k p(x|z_k) p(z_k) / q(z_k|x)), z_k ~ q(z|x), per image (B,); decoded in bounded chunks."""
        mean, logvar = self.encode(targets, labels)  # (B, L)
        std, batch = torch.exp(0.5 * logvar), targets.shape[0]
        per_chunk = max(1, IW_DECODE_ROWS // batch)
        log_weights = []
        for start in range(0, num_samples, per_chunk):
            count = min(per_chunk, num_samples - start)
            z = mean + std * self.normal((count, *mean.shape), generator)  # (k, B, L)
            chunk_labels = labels.repeat(count) if labels is not None else None
            logits = self.decode(z.flatten(0, 1), chunk_labels)  # (k·B, C, H, W)
            log_px = self.log_likelihood(logits, targets.repeat(count, 1, 1, 1)).view(count, batch)
            log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(-1)
            log_qz = gaussian_log_density(z, mean, logvar).sum(-1)
            log_weights.append(log_px + log_pz - log_qz)  # (k, B)
        return math.log(num_samples) - torch.logsumexp(torch.cat(log_weights), dim=0)

    # ---- Lightning steps --------------------------------------------------------------------------
    def losses(self, targets: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator | None,
               kl_weight: float) -> dict[str, torch.Tensor]:
        """Batch means of the objective (recon + kl_weight·kl), the ELBO and its two terms, in nats per image."""
        recon, kl = self.elbo_terms(targets, labels, generator)
        recon, kl = recon.mean(), kl.mean()
        return {"loss": recon + kl_weight * kl, "elbo": -(recon + kl), "recon": recon, "kl": kl}

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch[0], batch[1]
        stats = self.losses(self.targets(images), self.check_labels(labels, len(images)), None, self.kl_weight())
        logged = {f"train/{name}": value.detach() for name, value in stats.items() if name != "loss"}
        self.log_dict(logged, batch_size=len(images))
        self.log("train/loss", stats["loss"].detach(), prog_bar=True, batch_size=len(images))
        return stats["loss"]

    def evaluation_step(self, batch, prefix: str, seed: int) -> None:
        """Deterministic held-out ELBO terms (val/loss = recon + beta·kl, no warm-up); test adds nll_iw."""
        images, labels = batch[0], batch[1]
        generator = torch.Generator().manual_seed(seed)
        targets, labels = self.targets(images, generator), self.check_labels(labels, len(images))
        stats = self.losses(targets, labels, generator, self.beta)
        if prefix == "test":
            stats["nll_iw"] = self.importance_weighted_nll(targets, labels, self.iw_samples, generator).mean()
        logged = {f"{prefix}/{name}": value for name, value in stats.items()}
        self.log_dict(logged, batch_size=len(images), sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "val", seed=batch_idx)

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "test", seed=TEST_SEED_OFFSET + batch_idx)

    # ---- images out -------------------------------------------------------------------------------
    def to_images(self, logits: torch.Tensor) -> np.ndarray:
        """Decoder logits → mean intensities (sigmoid, not binary samples) → uint8 (N, H, W, C)."""
        return to_uint8(torch.sigmoid(logits) * 2.0 - 1.0)

    def in_eval_mode(self, function, *args):
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return function(*args)
        finally:
            self.train(was_training)

    def sample_chunks(self, num_samples: int, seed: int | None = None,
                      class_label: int | None = None) -> Iterator[np.ndarray]:
        """`sample`'s images, decoded z ~ N(0, I), a chunk per decoder pass so float activations stay bounded; the
        seed alone fixes them."""
        labels = requested_labels(self, num_samples, class_label)
        for start, z in noise_chunks(num_samples, self.latent_dim, seed):
            chunk_labels = None if labels is None else labels[start : start + len(z)]
            yield self.to_images(self.in_eval_mode(self.decode, z.to(self.device), chunk_labels))

    def latent_means(self, images, labels) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior means of images in [-1, 1] (B, C, H, W), fed as intensities (no binarization)."""
        images = torch.as_tensor(images, dtype=torch.float32, device=self.device)
        labels = self.check_labels(labels, images.shape[0])
        return self.encode(((images + 1.0) / 2.0).clamp(0.0, 1.0), labels)[0], labels

    def reconstruct(self, images, labels=None) -> np.ndarray:
        """Decoded posterior means of images in [-1, 1] (N, C, H, W) as uint8 (N, H, W, C)."""
        def run():
            z, condition = self.latent_means(images, labels)
            return self.to_images(self.decode(z, condition))

        return self.in_eval_mode(run)

    def interpolate(self, images_a, images_b, steps: int = 8, labels=None) -> np.ndarray:
        """Decodes `steps` points on the line between the latent means of each pair: uint8 (N·steps, H, W, C).

        Row i·steps + j is pair i at t = j / (steps - 1); a conditional model uses labels[i] along pair i.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ConfigError(f"steps must be an integer >= 2, got {steps!r}")

        def run():
            z_a, condition = self.latent_means(images_a, labels)
            z_b, _ = self.latent_means(images_b, labels)
            t = torch.linspace(0.0, 1.0, steps, device=self.device).view(1, steps, 1)
            z = (1 - t) * z_a.unsqueeze(1) + t * z_b.unsqueeze(1)  # (N, steps, L)
            condition = condition.repeat_interleave(steps) if condition is not None else None
            return self.to_images(self.decode(z.flatten(0, 1), condition))

        return self.in_eval_mode(run)


class VAE(VAEModule):
    """VAE with MLP or conv networks; conditional (a CVAE) when num_classes is set."""

    def __init__(
        self,
        image_size: int = 28,
        channels: int = 1,
        latent_dim: int = 32,
        arch: str = "mlp",
        hidden_dims: tuple[int, ...] = (512,),
        conv_channels: tuple[int, ...] = (32, 64),
        likelihood: str = "bernoulli",
        num_classes: int | None = None,
        lr: float = 2e-3,
        lr_schedule: str = "cosine",
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        iw_samples: int = 100,
    ):
        super().__init__(image_size=image_size, channels=channels, latent_dim=latent_dim, likelihood=likelihood,
                         num_classes=num_classes, lr=lr, lr_schedule=lr_schedule, beta=beta,
                         kl_warmup_steps=kl_warmup_steps, iw_samples=iw_samples)
        self.encoder, self.decoder = build_vae_networks(arch, channels, image_size, latent_dim, hidden_dims,
                                                       conv_channels, num_classes)
