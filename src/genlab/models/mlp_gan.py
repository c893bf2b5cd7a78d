"""The classic fully-connected GAN as a LightningModule (`model=mlp_gan`)."""
from genlab.models.gan import GANModule
from genlab.networks.mlp_gan import MLPDiscriminator, MLPGenerator


class GAN(GANModule):
    """MLP generator and discriminator; class-conditional when `num_classes` is set."""

    def __init__(self, image_size: int = 28, channels: int = 1, latent_dim: int = 64, g_hidden: int = 256,
                 d_hidden: int = 256, d_dropout: float = 0.3, num_classes: int | None = None, lr: float = 2e-4,
                 lr_d: float | None = None, betas: tuple[float, float] = (0.5, 0.999), loss: str = "bce",
                 n_critic: int = 1, gp_weight: float = 10.0, r1_weight: float = 0.0, spectral_norm: bool = False,
                 ema_decay: float | None = None, diffaug: str | None = ""):
        super().__init__(latent_dim=latent_dim, lr=lr, lr_d=lr_d, betas=betas, num_classes=num_classes, loss=loss,
                         n_critic=n_critic, gp_weight=gp_weight, r1_weight=r1_weight, spectral_norm=spectral_norm,
                         ema_decay=ema_decay, diffaug=diffaug)
        self.generator = MLPGenerator(latent_dim, channels, image_size, g_hidden, num_classes)
        self.discriminator = MLPDiscriminator(channels, image_size, d_hidden, num_classes, d_dropout)
        self.finish_setup()
