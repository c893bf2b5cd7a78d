"""genlab: config-driven experiments for generative models (Lightning + Hydra).

Kept import-light: `genlab-train --help` and config errors must not import torch.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("genlab")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"


def load(ckpt_path, map_location="cpu"):
    """Load a trained genlab module (with `.genlab_config` and `.data_description`) from a checkpoint."""
    from genlab.checkpoints import load_module

    return load_module(ckpt_path, map_location=map_location)


__all__ = ["__version__", "load"]
