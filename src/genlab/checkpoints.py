"""Checkpoints: atomic writes, safe (weights_only) reads, and rebuilding a module from one."""
import io
import pickle
import re
import zipfile
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import OmegaConf

from genlab.errors import CheckpointError
from genlab.runs.atomic import write_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes to a temp file then renames (a crash never leaves a torn checkpoint); always reads weights_only."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_atomic(Path(path), buffer.getvalue())

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        return read_checkpoint(path, map_location=map_location)


def read_checkpoint(path, map_location="cpu", mmap: bool = False) -> dict:
    """Load a checkpoint with `weights_only=True`: tensors and plain containers only, never arbitrary code.
    `mmap=True` maps tensors from the file instead of reading them (cheap checks of large checkpoints)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"ckpt_path={path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"cannot read checkpoint {path}: not a torch checkpoint (corrupt or truncated file)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as error:
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        detail = re.search(r"WeightsUnpickler error:\s*(\S.*)", str(error))
        reason = f"it would import {unsafe.group(1)}" if unsafe else (detail.group(1) if detail else "unsafe pickle")
        raise CheckpointError(f"refusing to load {path}: {reason}; genlab loads only tensors and plain data") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {str(error).splitlines()[0]}") from None


def genlab_metadata(checkpoint: dict, path) -> dict:
    """The `genlab` block every genlab checkpoint carries (config, data description, version, run_id)."""
    meta = checkpoint.get("genlab") if isinstance(checkpoint, dict) else None
    if not meta or "config" not in meta:
        raise CheckpointError(f"{path} is not a genlab checkpoint (no 'genlab' metadata in it)")
    return meta


def build_module(model_config, checkpoint: dict, path):
    """Instantiate the LightningModule described by `model_config`, load the checkpoint's weights, attach its data description."""
    from genlab.models.build import instantiate_model

    stored = checkpoint.get("genlab", {}).get("config", {}).get("model", {}).get("_target_")
    wanted = model_config.get("_target_")
    if stored and wanted and stored != wanted:
        raise CheckpointError(
            f"{path} holds a {stored.rsplit('.', 1)[-1]} checkpoint, not a {wanted.rsplit('.', 1)[-1]}: "
            "leave out model=... (the checkpoint's own model is rebuilt)"
        )
    module = instantiate_model(model_config)
    try:
        module.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(
            f"{path} does not fit model {model_config.get('_target_')}: {str(error).splitlines()[0]}"
        ) from None
    module.data_description = checkpoint.get("genlab", {}).get("data", {})  # e.g. the LM's tokenizer
    return module.eval()


def load_module(path, map_location="cpu"):
    """A trained module from a checkpoint alone, with `.genlab_config` and `.data_description` attached."""
    checkpoint = read_checkpoint(path, map_location=map_location)
    meta = genlab_metadata(checkpoint, path)
    module = build_module(OmegaConf.create(meta["config"]["model"]), checkpoint, path)
    module.genlab_config = meta["config"]
    return module


def check_resumable(cfg) -> Path | None:
    """Before `resume=<run_dir>` touches the run: its checkpoint exists, loads safely and (language models) was
    trained on the vocabulary this config's data gives. Returns the checkpoint the run resumes from."""
    resume, path = cfg.resume, resume_checkpoint(cfg)
    if path is None:  # a job of a resumed sweep that had not reached a checkpoint: it starts afresh
        return None
    path = Path(path)
    stored = (read_checkpoint(path, mmap=True).get("genlab") or {}).get("data") or {}
    if "tokenizer" in stored:
        from hydra.utils import instantiate

        datamodule = instantiate(cfg.data, _convert_="all")
        datamodule.setup("fit")  # the tokenizer and tokens are cached: the run itself reuses them
        tokenizer = getattr(datamodule, "tokenizer", None)
        if tokenizer is None or tokenizer.describe() != stored["tokenizer"]:
            found = f"{tokenizer.vocab_size}-token {tokenizer.kind}" if tokenizer else "no"
            raise CheckpointError(
                f"resume={resume}: this config's data gives a {found} vocabulary, but {path} was trained on a "
                f"{stored['tokenizer']['vocab_size']}-token {stored['tokenizer']['kind']} vocabulary; resume with the "
                f"run's own data settings (its overrides are in {Path(resume) / 'run_info.json'})"
            )
    return path


def resume_checkpoint(cfg) -> str | None:
    """`ckpt_path=last` (or `resume=` alone) → the resumed run's newest last.ckpt; other values pass through."""
    from genlab.runs.sweep_resume import resumed_run_dir

    ckpt_path, run_dir = cfg.get("ckpt_path"), resumed_run_dir(cfg)
    if run_dir is not None and ckpt_path in (None, "last"):
        return str(find_last_checkpoint(run_dir))
    return ckpt_path


def find_last_checkpoint(run_dir) -> Path:
    """The newest `last*.ckpt` of a run dir; one-line error when the run has none."""
    candidates = sorted(Path(run_dir, "checkpoints").glob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise CheckpointError(f"resume={run_dir}: no checkpoints/last.ckpt to resume from")
    return candidates[-1]
