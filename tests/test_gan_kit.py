"""The GAN stability kit: losses, n_critic step semantics, spectral norm, EMA generator, conditioning."""
import pytest
import torch

from genlab.errors import ConfigError
from genlab.models.dcgan import DCGAN
from genlab.models.gan_losses import discriminator_loss, generator_loss, gradient_penalty
from genlab.models.mlp_gan import GAN
from genlab.networks.conditioning import sampling_labels
from helpers.tiny_gan_data import fit, tiny_loader


@pytest.mark.parametrize("loss", ["bce", "hinge", "wgan-gp"])
def test_discriminator_steps_lower_the_discriminator_loss_for_every_loss(loss):
    torch.manual_seed(0)
    model = DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, loss=loss, d_batch_norm=loss != "wgan-gp")
    real = next(iter(tiny_loader()))[0]
    fake = model.generator(torch.randn(16, 8)).detach()
    optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        value = discriminator_loss(loss, model.discriminator(real), model.discriminator(fake))
        if loss == "wgan-gp":
            value = value + 10 * gradient_penalty(model.discriminate, real, fake, None)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        losses.append(value.item())
    assert losses[-1] < losses[0]


def test_losses_have_the_textbook_values_at_known_logits():
    zeros, ones = torch.zeros(4), torch.ones(4)
    assert discriminator_loss("bce", zeros, zeros).item() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())
    assert discriminator_loss("hinge", ones, -ones).item() == 0.0
    assert discriminator_loss("wgan-gp", 3 * ones, ones).item() == -2.0
    assert generator_loss("hinge", 2 * ones).item() == -2.0


def test_n_critic_makes_several_discriminator_updates_per_counted_generator_step():
    model = GAN(image_size=16, latent_dim=8, g_hidden=16, d_hidden=16, n_critic=3)
    trainer = fit(model, max_steps=2)
    generator_opt, discriminator_opt = (opt.optimizer for opt in trainer.strategy._lightning_optimizers)
    g_steps = {int(state["step"]) for state in generator_opt.state.values()}
    d_steps = {int(state["step"]) for state in discriminator_opt.state.values()}
    assert trainer.global_step == 2 and g_steps == {2} and d_steps == {6}


def test_spectral_norm_wraps_every_discriminator_layer_and_ema_tracks_the_generator():
    model = DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, spectral_norm=True, d_batch_norm=False,
                  ema_decay=0.9)
    convs = [m for m in model.discriminator.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    fit(model, max_steps=3)
    ema, live = model.generator_ema.module, model.generator
    assert int(model.generator_ema.n_averaged) == 3
    assert not torch.equal(next(ema.parameters()), next(live.parameters()))
    noise = model.noise(4, torch.Generator().manual_seed(1))
    ema.eval()
    expected = ((ema(noise) + 1) * 127.5).clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert (model.sample(4, seed=1) == expected).all()  # samples come from the EMA copy


def test_conditional_sampling_uses_the_requested_class_and_rejects_bad_labels():
    model = DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, num_classes=10)
    assert model.sample(6, seed=0, class_label=3).shape == (6, 16, 16, 1)
    assert sampling_labels("m", model.num_classes, 12, None, model.device).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    with pytest.raises(ConfigError, match="class_label=10 is out of range: use 0..9"):
        model.sample(2, class_label=10)
    with pytest.raises(ConfigError, match="model.loss must be one of bce, hinge, wgan-gp, got 'lsgan'"):
        DCGAN(loss="lsgan")
    with pytest.raises(ConfigError, match="model.n_critic must be an integer >= 1, got 0"):
        GAN(n_critic=0)


def test_ema_warms_up_so_early_averages_do_not_keep_the_untrained_weights():
    from genlab.models.gan import ema_with_warmup

    average = ema_with_warmup(0.999)
    ema, live = torch.zeros(3), torch.ones(3)
    assert torch.allclose(average(ema, live, torch.tensor(1)), torch.full((3,), 1 - 2 / 11))
    assert torch.allclose(average(ema, live, torch.tensor(100_000)), torch.full((3,), 1 - 0.999))
    counter = torch.tensor(7)
    assert average(torch.tensor(3), counter, torch.tensor(5)) is counter  # integer buffers follow the live model
