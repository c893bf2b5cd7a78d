"""FID/KID cost: genlab's sample-quality metric over 10,000 generated vs the 10,000 MNIST test images.

The metric is genlab's ImageQuality (torchmetrics FID, KID and IS on the cached classifier feature net, plus the
class-fraction check) fed as the SampleQuality callback feeds it: real images in batches of 500, generated ones in
blocks of 50. Generated = an untrained dcgan_mnist generator's samples (uint8, as `sample()` returns them), made
once and timed apart. Side by side, interleaved: the full metric (update + compute) and its floor, one feature-net
pass over the same 20,000 images. The feature net is built once first (from genlab's cache, trained there on a miss).

Usage: python scripts/bench/bench_fid.py [--rounds 3] [--num-images 10000] [--cache-dir outputs/.cache]
       (GENLAB_DATA_DIR, or --data-dir, must hold mnist/t10k-images-idx3-ubyte.gz)
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import common
import torch

from genlab.callbacks.sample_quality import SAMPLE_BLOCK
from genlab.data.idx import read_idx
from genlab.data.mnist import MNISTDataModule
from genlab.images import from_uint8
from genlab.metrics.feature_net import FeatureExtractor, build_feature_net
from genlab.metrics.image_quality import ImageQuality
from genlab.models.dcgan import DCGAN

TARGET_S = 20.0
REAL_BATCH = 500  # SampleQuality's batch_size
PHASES = ("update real", "update generated", "compute")


def generated_images(count: int, seed: int) -> torch.Tensor:
    """`count` samples of an untrained dcgan_mnist generator, in SAMPLE_BLOCK blocks seeded seed + k as genlab does."""
    torch.manual_seed(seed)
    model = DCGAN(image_size=28, channels=1, d_batch_norm=False, loss="hinge", spectral_norm=True, betas=(0.0, 0.9))
    blocks = [from_uint8(model.sample(min(SAMPLE_BLOCK, count - start), seed=seed + index))
              for index, start in enumerate(range(0, count, SAMPLE_BLOCK))]
    return torch.cat(blocks)


@torch.no_grad()
def metric_pass(metric: ImageQuality, real: torch.Tensor, fake: torch.Tensor, phases: dict[str, list[float]]) -> dict:
    """One full evaluation as SampleQuality runs it: real statistics once, then the generated blocks, then compute;
    each phase's seconds are appended to `phases`."""
    metric.fid.reset_real_features = metric.kid.reset_real_features = True  # start from no real statistics
    metric.fid.reset()
    metric.kid.reset()
    metric.fid.reset_real_features = metric.kid.reset_real_features = False
    metric.counts = {"real": 0, "fake": 0}
    start = time.perf_counter()
    for begin in range(0, len(real), REAL_BATCH):
        metric.update(real[begin : begin + REAL_BATCH], real=True)
    metric.has_real = True
    real_done = time.perf_counter()
    for begin in range(0, len(fake), SAMPLE_BLOCK):
        metric.update(fake[begin : begin + SAMPLE_BLOCK], real=False)
    fake_done = time.perf_counter()
    values = metric.compute()
    for phase, seconds in zip(PHASES, (real_done - start, fake_done - real_done, time.perf_counter() - fake_done)):
        phases[phase].append(seconds)
    return values


@torch.no_grad()
def feature_pass(network: torch.nn.Module, images: torch.Tensor) -> None:
    """The floor: one feature-net pass (features and logits together) over every image, in batches of 500."""
    for start in range(0, len(images), REAL_BATCH):
        network.head(network.features(images[start : start + REAL_BATCH]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each side (default 3)")
    parser.add_argument("--num-images", type=int, default=10000, help="real and generated images each (default 10000)")
    parser.add_argument("--data-dir", default=os.environ.get("GENLAB_DATA_DIR", "data"), help="holds mnist/")
    parser.add_argument("--cache-dir", default=os.environ.get("GENLAB_CACHE_DIR", "outputs/.cache"),
                        help="genlab cache holding the feature net (default genlab's own)")
    parser.add_argument("--kid-subset-size", type=int, default=500, help="metrics.kid_subset_size (default 500)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer")  # KID/IS, by design
    common.print_environment()
    start = time.perf_counter()
    datamodule = MNISTDataModule(data_dir=str(Path(args.data_dir) / "mnist"))  # dcgan_mnist's data settings
    network, extractor_id = build_feature_net(datamodule, args.cache_dir, None)
    build_seconds = time.perf_counter() - start
    real = from_uint8(read_idx(datamodule.data_dir / "t10k-images-idx3-ubyte.gz")[: args.num_images, ..., None])
    start = time.perf_counter()
    fake = generated_images(args.num_images, seed=0)
    generate_seconds = time.perf_counter() - start
    extractor = FeatureExtractor(network)
    metric = ImageQuality(extractor, extractor.head, args.kid_subset_size)
    values: dict[str, float] = {}
    phases: dict[str, list[float]] = {phase: [] for phase in PHASES}

    def timed_metric() -> float:
        nonlocal values
        values = metric_pass(metric, real, fake, phases)
        return sum(times[-1] for times in phases.values())

    def timed_features() -> float:
        begin = time.perf_counter()
        feature_pass(network, torch.cat([real, fake]))
        return time.perf_counter() - begin

    samples = common.interleaved_rounds({"genlab metric": timed_metric, "feature floor": timed_features}, args.rounds)
    medians = {name: common.median(times) for name, times in samples.items()}
    print(f"feature net {extractor_id}: built/loaded in {build_seconds:.2f} s; {len(fake)} generated images made in "
          f"{generate_seconds:.2f} s (not counted); {len(real)} real")
    print()
    common.print_table(
        ["side", "median s", "min s", "max s", "images/s"],
        [[name, f"{medians[name]:.2f}", f"{min(times):.2f}", f"{max(times):.2f}",
          f"{(len(real) + len(fake)) / medians[name]:,.0f}"] for name, times in samples.items()],
    )
    print("genlab metric phases (median s): " + ", ".join(f"{phase} {common.median(times):.2f}"
                                                         for phase, times in phases.items()))
    print(" ".join(f"{name}={value:.4g}" for name, value in values.items()))
    print(f"{args.rounds} rounds; genlab metric / feature floor = {medians['genlab metric'] / medians['feature floor']:.2f}")
    common.print_ratio(f"genlab metric seconds / {TARGET_S:g} s target", medians["genlab metric"] / TARGET_S, 1.0,
                       higher_is_better=False)


if __name__ == "__main__":
    sys.exit(main())
