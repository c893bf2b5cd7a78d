"""DCGAN LightningModule: the GANModule training loop over the DCGAN networks."""
from genlab.models.gan import GANModule
from genlab.networks.dcgan import DCGANDiscriminator, DCGANGenerator


class DCGAN(GANModule):
    """Deep convolutional GAN; Adam(2e-4, betas (0.5, 0.999)) by default, as in the paper."""

    def __init__(
        self,
        image_size: int = 32,
        channels: int = 1,
        latent_dim: int = 64,
        g_width: int = 64,
        d_width: int = 64,
        lr: float = 2e-4,
        lr_d: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
    ):
        super().__init__(latent_dim=latent_dim, lr=lr, lr_d=lr_d, betas=betas)
        self.generator = DCGANGenerator(latent_dim, channels, image_size, g_width)
        self.discriminator = DCGANDiscriminator(channels, image_size, d_width)
