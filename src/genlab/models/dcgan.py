"""DCGAN LightningModule: the GANModule training loop over the DCGAN networks."""
from genlab.checks import integer
from genlab.models.gan import GANModule
from genlab.networks.dcgan import DCGANDiscriminator, DCGANGenerator


class DCGAN(GANModule):
    """Deep convolutional GAN, class-conditional when `num_classes` is set; Adam(2e-4, (0.5, 0.999)) by default."""

    def __init__(self, image_size: int = 32, channels: int = 1, latent_dim: int = 64, g_width: int = 64,
                 d_width: int = 64, d_batch_norm: bool = True, num_classes: int | None = None, lr: float = 2e-4,
                 lr_d: float | None = None, betas: tuple[float, float] = (0.5, 0.999), loss: str = "bce",
                 n_critic: int = 1, gp_weight: float = 10.0, r1_weight: float = 0.0, spectral_norm: bool = False,
                 ema_decay: float | None = None, diffaug: str | None = "", minibatch_std: bool = False):
        super().__init__(latent_dim=latent_dim, lr=lr, lr_d=lr_d, betas=betas, num_classes=num_classes, loss=loss,
                         n_critic=n_critic, gp_weight=gp_weight, r1_weight=r1_weight, spectral_norm=spectral_norm,
                         ema_decay=ema_decay, diffaug=diffaug)
        g_width, d_width = integer("model.g_width", g_width), integer("model.d_width", d_width)
        self.generator = DCGANGenerator(latent_dim, channels, image_size, g_width, num_classes)
        self.discriminator = DCGANDiscriminator(channels, image_size, d_width, num_classes, d_batch_norm,
                                                minibatch_std)
        self.finish_setup()
