"""DCGAN networks: every configured image size and channel count, and a clear error for the rest."""
import pytest
import torch

from genlab.errors import ConfigError
from genlab.networks.dcgan import DCGANDiscriminator, DCGANGenerator, upsampling_plan


@pytest.mark.parametrize("image_size", [16, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_makes_images_of_the_configured_shape_in_unit_range_and_discriminator_scores_them(image_size, channels):
    generator = DCGANGenerator(latent_dim=8, channels=channels, image_size=image_size, width=8)
    discriminator = DCGANDiscriminator(channels=channels, image_size=image_size, width=8)
    images = generator(torch.randn(5, 8))
    assert images.shape == (5, channels, image_size, image_size)
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images).shape == (5,)


def test_upsampling_plan_starts_small_and_doubles():
    assert upsampling_plan(28) == (7, 2) and upsampling_plan(32) == (4, 3) and upsampling_plan(64) == (4, 4)


@pytest.mark.parametrize("image_size", [30, 17, 2, 9])
def test_sizes_the_network_cannot_produce_name_the_key_and_the_valid_sizes(image_size):
    with pytest.raises(ConfigError, match=rf"model.image_size={image_size} cannot be produced .*16, 28, 32, 64"):
        DCGANGenerator(image_size=image_size)


@pytest.mark.parametrize("batch", [1, 6, 8])
def test_minibatch_std_discriminator_gives_one_logit_per_image_and_reacts_to_batch_diversity(batch):
    from genlab.networks.dcgan import MinibatchStdDev

    discriminator = DCGANDiscriminator(channels=1, image_size=28, width=16, minibatch_std=True)
    assert discriminator(torch.randn(batch, 1, 28, 28)).shape == (batch,)
    features = torch.randn(8, 3, 4, 4)
    assert MinibatchStdDev()(features).shape == (8, 4, 4, 4)
    same = features[:1].expand(8, -1, -1, -1)
    assert MinibatchStdDev()(same)[:, -1].abs().max() < 1e-3 < MinibatchStdDev()(features)[:, -1].min()
