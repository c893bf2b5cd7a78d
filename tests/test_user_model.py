"""A model that lives outside genlab: one Python file and one yaml in a directory on GENLAB_CONFIG_PATH."""
import textwrap

import numpy as np
import torch

from conftest import read_run_info, run_dirs

USER_MODULE = '''
"""A user's own GAN: MLP generator and discriminator on genlab's GANModule."""
from torch import nn

from genlab.models.gan import GANModule


class TinyGAN(GANModule):
    def __init__(self, image_size: int = 16, channels: int = 1, latent_dim: int = 8, lr: float = 2e-4):
        super().__init__(latent_dim=latent_dim, lr=lr, lr_d=None, betas=(0.5, 0.999))
        pixels = channels * image_size * image_size
        self.generator = nn.Sequential(nn.Linear(latent_dim, pixels), nn.Tanh(), nn.Unflatten(1, (channels, image_size, image_size)))
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 1), nn.Flatten(0))
'''
USER_CONFIG = """
_target_: my_tiny_gan.TinyGAN
image_size: ${data.image_size}
channels: ${data.channels}
latent_dim: 8
"""


def test_user_model_from_a_config_path_dir_trains_and_samples(run_cli, output_dir, tmp_path, monkeypatch):
    user_dir = tmp_path / "my_genlab"
    (user_dir / "model").mkdir(parents=True)
    (user_dir / "my_tiny_gan.py").write_text(textwrap.dedent(USER_MODULE))
    (user_dir / "model" / "tiny_gan.yaml").write_text(USER_CONFIG)
    monkeypatch.setenv("GENLAB_CONFIG_PATH", str(user_dir))

    result = run_cli("train", "model=tiny_gan", "debug=limit", "callbacks.rich_progress_bar=null")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "debug")
    assert read_run_info(run_dir)["status"] == "completed"
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["genlab"]["model_class"] == "my_tiny_gan.TinyGAN"
    assert run_cli("sample", f"ckpt_path={run_dir}/checkpoints/last.ckpt", "num_samples=4").exit_code == 0
    images = np.load(max((run_dir / "generated").iterdir()) / "samples.npz")["images"]
    assert images.shape == (4, 16, 16, 1)
