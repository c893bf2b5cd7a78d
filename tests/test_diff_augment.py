"""DiffAugment: each augmentation does what its name says, keeps shapes, passes gradients to the generator, is off by
default, and a GAN with it augments every image its discriminator sees in both steps."""
import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.dcgan import DCGAN
from genlab.networks.diff_augment import DiffAugment, adjust_colour, cut_out, translate
from helpers.tiny_gan_data import fit


def numbered_images(batch: int = 8, channels: int = 1, side: int = 16) -> torch.Tensor:
    """Images whose pixels are 1, 2, 3, ... (all distinct and non-zero), so moved pixels can be traced."""
    return torch.arange(1, batch * channels * side * side + 1, dtype=torch.float32).view(batch, channels, side, side)


def test_empty_policy_is_the_identity_and_the_default():
    images = numbered_images()
    assert DiffAugment("")(images) is images
    assert DCGAN(image_size=16).augment(images) is images


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_every_policy_keeps_the_shape_and_passes_gradients_to_the_generator_input(policy):
    torch.manual_seed(0)
    model = DCGAN(image_size=16, channels=3, latent_dim=8, g_width=8, d_width=8, diffaug=policy)
    noise = torch.randn(4, 8, requires_grad=True)
    fake = model.generate(noise)
    augmented = model.augment(fake)
    assert augmented.shape == fake.shape and not torch.equal(augmented, fake)
    model.discriminate_augmented(fake).sum().backward()
    assert noise.grad is not None and noise.grad.abs().sum() > 0


def test_translation_shifts_each_image_by_at_most_an_eighth_filling_with_zeros():
    torch.manual_seed(0)
    images = numbered_images(batch=32)
    shifted = translate(images)
    shifts = set()
    for original, moved in zip(images[:, 0], shifted[:, 0]):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.equal(moved, shift_with_zeros(original, dy, dx))]
        assert len(matches) == 1
        shifts.add(matches[0])
    assert len(shifts) > 5  # drawn per image


def shift_with_zeros(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    padded = torch.nn.functional.pad(image, (2, 2, 2, 2))
    return padded[2 - dy : 2 - dy + image.shape[0], 2 - dx : 2 - dx + image.shape[1]]


def test_cutout_zeroes_one_square_of_half_the_side_clipped_at_the_border():
    torch.manual_seed(0)
    erased = cut_out(torch.ones(64, 1, 16, 16))[:, 0] == 0
    for mask in erased:
        rows, cols = mask.any(dim=1).nonzero()[:, 0], mask.any(dim=0).nonzero()[:, 0]
        assert 1 <= len(rows) <= 8 and 1 <= len(cols) <= 8
        assert mask.sum() == len(rows) * len(cols)  # one filled rectangle
        assert len(rows) == 8 or rows[0] == 0 or rows[-1] == 15  # smaller only where the border clips it
    assert (erased.flatten(1).sum(dim=1) == 64).sum() > 10  # most squares fit whole


def test_colour_on_one_channel_is_brightness_and_contrast_only_and_changes_saturation_on_rgb():
    torch.manual_seed(0)
    grey = torch.rand(16, 1, 8, 8)
    adjusted = adjust_colour(grey)
    for before, after in zip(grey.flatten(1), adjusted.flatten(1)):  # an affine map a·x + b per image
        design = torch.stack([before, torch.ones_like(before)], dim=1)
        solution = torch.linalg.lstsq(design, after[:, None]).solution
        assert torch.allclose(design @ solution, after[:, None], atol=1e-5)
    rgb = torch.rand(16, 3, 8, 8)
    spread = lambda images: (images - images.mean(dim=1, keepdim=True)).flatten(1).norm(dim=1)  # noqa: E731
    ratios = spread(adjust_colour(rgb)) / spread(rgb)
    assert ratios.std() > 0.1  # saturation and contrast scale each image's channel differences differently


def test_unknown_augmentation_is_an_error_naming_model_diffaug_and_the_valid_names():
    with pytest.raises(ConfigError, match=r"model.diffaug=color,blur: unknown augmentation 'blur'; valid: color, "
                                          r"translation, cutout \(comma-separated\), or \"\" for none"):
        DCGAN(image_size=16, diffaug="color,blur")


@pytest.mark.parametrize("loss, d_inputs", [("hinge", 2), ("wgan-gp", 3)])
def test_gan_augments_real_and_fake_before_every_discriminator_call_in_both_steps(loss, d_inputs):
    model = DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, d_batch_norm=loss != "wgan-gp", loss=loss,
                  diffaug="translation,cutout")
    augmented = []
    model.augment.register_forward_hook(lambda module, inputs, output: augmented.append(inputs[0].shape[0]))
    fit(model, max_steps=2)  # two batches: D then G each; wgan-gp also augments its penalty's interpolates
    assert len(augmented) == 2 * (d_inputs + 1)
