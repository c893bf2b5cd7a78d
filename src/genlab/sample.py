"""genlab-sample: draw samples from a checkpoint: images into `samples.npz` + `grid.png`, text into `samples.txt`."""
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from genlab.cli.app import run_app
from genlab.config.validate import validate_config
from genlab.errors import CheckpointError, ConfigError

GRID_IMAGES = 64  # grid.png tiles the first samples only, however many were drawn


def sample(cfg: DictConfig) -> Path:
    """Rebuild the generator from the checkpoint (plus overrides) and write `num_samples` images or texts."""
    validate_config(cfg)
    from genlab.checkpoints import build_module
    from genlab.checkpoints import config_from_checkpoint

    checkpoint, config = config_from_checkpoint(cfg)
    model = build_module(config.model, checkpoint, cfg.ckpt_path)
    if not hasattr(model, "sample"):
        raise CheckpointError(f"ckpt_path={cfg.ckpt_path} holds a {type(model).__name__}, which cannot sample: "
                              "give the checkpoint of a generative model")
    run_dir = Path(cfg.paths.run_dir)
    if getattr(model, "sample_kind", "images") == "text":
        write_texts(model, cfg, run_dir)
    else:
        write_images(model, config, cfg, run_dir)
    return run_dir


def write_texts(model, cfg: DictConfig, run_dir: Path) -> Path:
    """Stream `num_samples` (default 1) continuations of `prompt` to stdout and write them to `samples.txt`."""
    from genlab.runs.atomic import write_atomic

    def stream(index: int, piece: str) -> None:
        if index != shown[0]:
            shown[0] = index
            print(f"\n--- sample {index + 1} ---\n{cfg.prompt}", end="")
        print(piece, end="", flush=True)

    try:
        model.text_tokenizer().encode(cfg.prompt)
    except ConfigError as error:
        raise ConfigError(f"prompt={cfg.prompt!r}: {error}; the model knows only its training text's characters") from None
    shown = [-1]
    texts = model.generate(cfg.prompt, cfg.max_new_tokens, cfg.temperature, cfg.top_k, cfg.top_p,
                           num_samples=cfg.num_samples or 1, seed=cfg.seed, on_text=stream)
    path = run_dir / "samples.txt"
    write_atomic(path, ("\n" + "-" * 40 + "\n").join(texts).encode())
    print(f"\nwrote {len(texts)} samples to {path}")
    return path


def write_images(model, config: DictConfig, cfg: DictConfig, run_dir: Path) -> None:
    """`num_samples` (default 64) images into `samples.npz` chunk by chunk (bounded memory), the first 64 into
    `grid.png`; VAEs add reconstruction grids."""
    from genlab.images import make_grid, save_png
    from genlab.npz_writer import NpzArrayWriter

    num_samples = cfg.num_samples or 64
    if hasattr(model, "sample_chunks"):
        chunks = model.sample_chunks(num_samples, seed=cfg.seed, class_label=cfg.class_label)
    else:  # a user's generator with only `sample`
        chunks = [model.sample(num_samples, seed=cfg.seed, class_label=cfg.class_label)]
    grid_images = []
    with NpzArrayWriter(run_dir / "samples.npz", "images", num_samples) as samples_npz:
        for chunk in chunks:
            samples_npz.append(chunk)
            missing = GRID_IMAGES - sum(map(len, grid_images))
            if missing > 0:
                grid_images.append(chunk[:missing].copy())  # a copy, so the chunk itself can be freed
    save_png(make_grid(np.concatenate(grid_images)), run_dir / "grid.png")
    print(f"wrote {num_samples} samples to {run_dir / 'samples.npz'} and {run_dir / 'grid.png'}")
    if hasattr(model, "reconstruct"):
        for path in write_autoencoder_grids(model, config.data, run_dir):
            print(f"wrote {path}")


def write_autoencoder_grids(model, data_config, run_dir: Path, count: int = 8, steps: int = 8) -> list[Path]:
    """Test images above their reconstructions, and latent interpolations between pairs of test images."""
    from hydra.utils import instantiate

    from genlab.images import make_grid, save_png, to_uint8

    datamodule = instantiate(data_config, _convert_="all")
    datamodule.setup("test")
    images, labels = first_test_batch(datamodule, 2 * count)
    labels = labels if getattr(model, "num_classes", None) else None
    originals = to_uint8(images[:count])
    reconstructions = model.reconstruct(images[:count], None if labels is None else labels[:count])
    interpolations = model.interpolate(images[:count], images[count:], steps, None if labels is None else labels[:count])
    return [
        save_png(make_grid(np.concatenate([originals, reconstructions]), nrow=count), run_dir / "reconstructions.png"),
        save_png(make_grid(interpolations, nrow=steps), run_dir / "interpolations.png"),
    ]


def first_test_batch(datamodule, count: int):
    """(images, labels) of the first `count` test examples, in the test loader's (fixed) order."""
    import torch

    images, labels = [], []
    for batch_images, batch_labels in datamodule.test_dataloader():
        images.append(batch_images)
        labels.append(batch_labels)
        if sum(map(len, images)) >= count:
            break
    return torch.cat(images)[:count], torch.cat(labels)[:count]


def main() -> None:
    run_app("sample", sample)


if __name__ == "__main__":
    main()
