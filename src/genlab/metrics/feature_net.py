"""FID/KID/IS feature nets: genlab's LeNet trained once per dataset and cached, a given classifier, or Inception."""
import copy
import hashlib
import io
import json
import logging
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from genlab.checkpoints import read_checkpoint
from genlab.config.validate import require_inception
from genlab.data.batched import whole_batch
from genlab.errors import ConfigError
from genlab.networks.classifiers import LeNet
from genlab.runs.atomic import write_atomic

log = logging.getLogger(__name__)
# Changing the recipe changes every cache key, so numbers from different feature nets never mix.
RECIPE = {"net": "lenet", "width": 32, "feature_dim": 128, "epochs": 8, "batch_size": 128, "lr": 2e-3, "seed": 0}


class FeatureExtractor(nn.Module):
    """A frozen classifier as the metrics use it: `forward` → features (B, F), `num_features`, and `head`
    (features → class logits; the classifier's own head, its dropout being off in eval)."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.num_features = network.num_features

    @property
    def head(self) -> nn.Module:
        return self.network.head

    def train(self, mode: bool = True) -> "FeatureExtractor":
        return super().train(False)  # always frozen, whatever Lightning asks

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network.features(images.float())


def state_dict_sha256(module: nn.Module) -> str:
    """sha256 over the module's state_dict (names and raw bytes, in order): the feature net's exact weights."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_key(description: dict) -> str:
    """Hash of what decides the cached net: the dataset, its split fractions, and the training recipe.

    The run's `seed` is left out on purpose: the net trains on the split drawn with the recipe's own seed,
    so runs with different seeds are scored by the same feature net and their FIDs compare.
    """
    keys = ("dataset", "image_shape", "num_classes", "split_sizes", "splits", "pool", "classes")
    identity = {key: description.get(key) for key in keys} | {"recipe": RECIPE}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def recipe_split(datamodule):
    """A fresh copy of the datamodule whose split is drawn with the recipe's seed, not the run's."""
    recipe_datamodule = copy.copy(datamodule)
    recipe_datamodule.seed, recipe_datamodule.datasets = RECIPE["seed"], None
    return recipe_datamodule


def train_lenet(datamodule) -> tuple[LeNet, float]:
    """Train the feature LeNet deterministically on the recipe split's train part; return it and its val accuracy."""
    datamodule = recipe_split(datamodule)
    datamodule.setup("fit")
    channels, image_size = datamodule.describe()["image_shape"][:2]
    generator = torch.Generator().manual_seed(RECIPE["seed"])
    torch.manual_seed(RECIPE["seed"])
    network = LeNet(channels, image_size, datamodule.num_classes, RECIPE["width"], RECIPE["feature_dim"])
    optimizer = torch.optim.Adam(network.parameters(), lr=RECIPE["lr"])
    loader = torch.utils.data.DataLoader(datamodule.datasets["train"], RECIPE["batch_size"], shuffle=True,
                                         generator=generator, collate_fn=whole_batch)
    network.train()
    for _ in range(RECIPE["epochs"]):
        for images, labels in loader:
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(network(images), labels).backward()
            optimizer.step()
    network.eval()
    images, labels = datamodule.datasets["val"].tensors
    with torch.no_grad():
        accuracy = (network(images).argmax(1) == labels).float().mean().item()
    return network, accuracy


def cached_lenet(datamodule, cache_dir: str) -> tuple[LeNet, str]:
    """The dataset's feature LeNet from `<cache_dir>/feature_nets/`, trained and cached on first use (locked).

    Built under a forked RNG: whether the cache existed must not change the run's random stream."""
    description = datamodule.describe()
    key = cache_key(description)
    path = Path(cache_dir) / "feature_nets" / f"{description['dataset']}-{key}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"), torch.random.fork_rng(devices=[]):
        channels, image_size = description["image_shape"][:2]
        network = LeNet(channels, image_size, description["num_classes"], RECIPE["width"], RECIPE["feature_dim"])
        if path.is_file():
            network.load_state_dict(read_checkpoint(path)["state_dict"])  # weights_only; a refusal names the file
        else:
            network, accuracy = train_lenet(datamodule)
            log.info("trained feature net %s (val accuracy %.4f)", path.name, accuracy)
            buffer = io.BytesIO()
            torch.save({"state_dict": network.state_dict(), "val_accuracy": accuracy, "recipe": RECIPE}, buffer)
            write_atomic(path, buffer.getvalue())
    return network.eval(), f"lenet-{description['dataset']}-{key}"


def classifier_from_checkpoint(ckpt_path: str) -> tuple[nn.Module, str]:
    """The network of a trained genlab classifier checkpoint (loaded with weights_only=True)."""
    from genlab.checkpoints import load_module

    module = load_module(ckpt_path)
    network = getattr(module, "network", None)
    if network is None or not hasattr(network, "features"):
        raise ConfigError(f"metrics.classifier_ckpt={ckpt_path} is not a genlab classifier checkpoint")
    digest = hashlib.sha256(Path(ckpt_path).read_bytes()).hexdigest()[:12]
    return network.eval(), f"classifier-{digest}"


def inception_feature(weights: str | None) -> int:
    """Check the optional Inception backend is usable; torchmetrics builds it from the returned feature size."""
    require_inception(weights)
    return 2048


def build_feature_net(datamodule, cache_dir: str, classifier_ckpt: str | None) -> tuple[nn.Module, str]:
    """The classifier network (features + logits) for `metrics.feature_net=classifier`, and its extractor id."""
    if classifier_ckpt:
        return classifier_from_checkpoint(classifier_ckpt)
    return cached_lenet(datamodule, cache_dir)
