"""GAN objectives (BCE non-saturating, hinge, WGAN) and gradient penalties, as plain functions of logits."""
import torch
import torch.nn.functional as F

from genlab.checks import choice

LOSSES = ("bce", "hinge", "wgan-gp")


def check_loss(name: str) -> str:
    choice("model.loss", name, LOSSES)
    return name


def discriminator_loss(name: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The critic's loss on real and fake scores (penalties are added separately)."""
    if name == "bce":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if name == "hinge":
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()  # wgan-gp: negative Wasserstein estimate


def generator_loss(name: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating BCE for `bce`; -D(G(z)) for hinge and WGAN."""
    if name == "bce":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


def mean_score(name: str, logits: torch.Tensor) -> torch.Tensor:
    """What `d_real`/`d_fake` report: mean D(x) probability for `bce`, mean critic score otherwise."""
    return torch.sigmoid(logits).mean() if name == "bce" else logits.mean()


def _input_gradient_norms(discriminate, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    images = images.detach().requires_grad_(True)
    scores = discriminate(images, labels)
    (gradients,) = torch.autograd.grad(scores.sum(), images, create_graph=True)
    return gradients.flatten(1).norm(2, dim=1)  # (B,)


def gradient_penalty(discriminate, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||∇D(x̂)|| - 1)² on random interpolates of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype)
    interpolates = alpha * real + (1 - alpha) * fake.detach()
    return ((_input_gradient_norms(discriminate, interpolates, labels) - 1.0) ** 2).mean()


def r1_penalty(discriminate, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): ½·||∇D(x)||² on real images."""
    return 0.5 * (_input_gradient_norms(discriminate, real, labels) ** 2).mean()
