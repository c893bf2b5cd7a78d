"""DCGAN training throughput: genlab-train's dcgan_mnist fit vs a raw PyTorch loop, alternated in one process.

The genlab side is the real `genlab-train experiment=dcgan_mnist` (GANModule, manual optimization, hinge loss,
spectrally normalized D, callbacks, loggers, Trainer) run in this process; a callback (common.InterleavedSegments)
pauses it every --steps batches to run as many steps of a hand-written loop doing the same D then G updates on
copies of the same initial networks: same MNIST tensors in genlab's shuffle order, same noise (genlab's RNG state is
replayed per batch), same Adam settings, and D frozen during G's step as genlab's toggle_optimizer does. Both sides
start at the same losses (GAN dynamics then amplify float rounding, so later losses agree only statistically).
Validation, FID and other epoch-end work are paused out; two untimed extras are off: the test stage and the FID of
the untrained generator (metrics.at_start).

Usage: python scripts/bench/bench_gan.py [--steps 50] [--rounds 10] [--warmup 10] [--output-dir DIR] [OVERRIDE ...]
       (GENLAB_DATA_DIR must hold mnist/t10k-*-ubyte.gz, or pass paths.data_dir=...)
"""
import collections
import copy
import sys

import common
import torch

from genlab.data.epoch_samplers import ShuffleSampler
from genlab.models import gan_losses

TARGET = 0.95


class RawGANLoop:
    """The DCGAN loop a user would write by hand around genlab's networks, fed genlab's batches and noise."""

    def __init__(self, trainer, pl_module):
        if pl_module.num_classes or pl_module.loss_name == "wgan-gp" or pl_module.r1_weight or pl_module.generator_ema:
            raise SystemExit("bench_gan's raw loop covers unconditional bce/hinge GANs without R1 or EMA")
        datamodule = trainer.datamodule
        self.images = datamodule.datasets["train"].tensors[0]  # (N, C, H, W) in [-1, 1]
        sampler = ShuffleSampler(len(self.images), datamodule.seed)
        self.batches = common.sampler_batches(sampler, datamodule.batch_size, len(self.images) >= datamodule.batch_size)
        self.items_per_step = datamodule.batch_size
        self.generator = copy.deepcopy(pl_module.generator).train()
        self.discriminator = copy.deepcopy(pl_module.discriminator).train()
        self.generator_opt = torch.optim.Adam(self.generator.parameters(), lr=pl_module.lr, betas=pl_module.betas)
        self.discriminator_opt = torch.optim.Adam(self.discriminator.parameters(), lr=pl_module.lr_d,
                                                  betas=pl_module.betas)
        self.loss_name, self.n_critic, self.latent_dim = pl_module.loss_name, pl_module.n_critic, pl_module.latent_dim
        self.noise_states = collections.deque()  # genlab's global RNG state at each of its batches
        self.noise_generator = torch.Generator()
        self.step_count = 0

    def on_genlab_batch_start(self) -> None:
        self.noise_states.append(torch.get_rng_state())

    def run(self, steps: int) -> list[dict]:
        losses = []
        for _ in range(steps):
            real = self.images[next(self.batches)]
            self.noise_generator.set_state(self.noise_states.popleft())
            fake = self.generator(torch.randn(real.shape[0], self.latent_dim, generator=self.noise_generator))
            d_loss = gan_losses.discriminator_loss(self.loss_name, self.discriminator(real),
                                                   self.discriminator(fake.detach()))
            self.discriminator_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.discriminator_opt.step()
            step_losses = {"d_loss": d_loss.detach()}
            self.step_count += 1
            if self.step_count % self.n_critic == 0:
                self.discriminator.requires_grad_(False)  # G's step needs no D weight gradients
                g_loss = gan_losses.generator_loss(self.loss_name, self.discriminator(fake))
                self.generator_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                self.generator_opt.step()
                self.discriminator.requires_grad_(True)
                step_losses["g_loss"] = g_loss.detach()
            losses.append(step_losses)
        return losses

    @staticmethod
    def genlab_losses(outputs) -> dict:
        return {name: outputs[name] for name in ("d_loss", "g_loss") if name in outputs}


if __name__ == "__main__":
    sys.exit(common.segment_benchmark(__doc__, ["experiment=dcgan_mnist", "test=false", "metrics.at_start=false"],
                                      "__main__.RawGANLoop", "images", TARGET))
