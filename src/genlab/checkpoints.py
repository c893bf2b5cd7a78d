"""Checkpoints: atomic writes, safe (weights_only) reads, and rebuilding a module from one."""
import io
import pickle
import re
import zipfile
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.plugins.io import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf

from genlab.config.stored import check_stored_targets, check_trusted_groups, merge_stored_config
from genlab.errors import CheckpointError, state_dict_mismatch
from genlab.file_hash import file_sha256
from genlab.models.lora_checkpoint import BASE_KEY
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
        unsafe = re.search(r"(?:Unsupported global: |unsupported )GLOBAL (\S+)", str(error))
        detail = re.search(r"WeightsUnpickler error:\s*(\S.*)", str(error))
        reason = f"it would import {unsafe.group(1)}" if unsafe else (detail.group(1) if detail else "unsafe pickle")
        raise CheckpointError(f"refusing to load {path}: {reason}; genlab loads only tensors and plain data") from None
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {str(error).splitlines()[0]}") from None


def complete_from_base(checkpoint: dict, path) -> dict:
    """The checkpoint with its base weights put back (read from the recorded base, whose hash must match); a
    checkpoint that is not an adapter checkpoint is returned as it is."""
    base = (checkpoint.get("genlab") or {}).get(BASE_KEY)
    if not base:
        return checkpoint
    if not isinstance(base, dict) or not all(isinstance(base.get(key), str) for key in ("path", "sha256")):
        raise CheckpointError(f"{path}: its {BASE_KEY} record must hold the base checkpoint's path and sha256")
    base_path = Path(base["path"])
    if not base_path.is_file():
        raise CheckpointError(f"{path} holds LoRA adapters for {base_path}, which is gone; put the base checkpoint back "
                              "there (or export a merged model while it exists: genlab-export format=genlab)")
    if file_sha256(base_path) != base["sha256"]:
        raise CheckpointError(f"{path} holds LoRA adapters for {base_path}, which has changed since (its sha256 "
                              "differs): the adapters fit only the original base checkpoint")
    weights = read_checkpoint(base_path)["state_dict"]
    checkpoint["state_dict"] = {**weights, **checkpoint["state_dict"]}
    return checkpoint


MOVED_MODELS = {  # old `_target_` → where the class lives now
    "genlab.models.classifier.CNNClassifier": "genlab.models.cnn_classifier.CNNClassifier",
    "genlab.models.classifier.LSTMClassifier": "genlab.models.lstm_classifier.LSTMClassifier",
}


def genlab_metadata(checkpoint: dict, path) -> dict:
    """The `genlab` block every genlab checkpoint carries (config, data description, version, run_id); a model class
    that has moved since the checkpoint was written is named by its new place (MOVED_MODELS)."""
    meta = checkpoint.get("genlab") if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{path} is not a genlab checkpoint (no 'genlab' metadata in it)")
    model = meta["config"].get("model")
    if isinstance(model, dict) and model.get("_target_") in MOVED_MODELS:
        model["_target_"] = MOVED_MODELS[model["_target_"]]
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
        module.load_state_dict(complete_from_base(checkpoint, path)["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{path} does not fit model {model_config.get('_target_')}: "
                              f"{state_dict_mismatch(error)}") from None
    if hasattr(module, "merge_adapters"):
        module.merge_adapters()  # LoRA adapters folded in: a plain network to sample, evaluate or export
    module.data_description = checkpoint.get("genlab", {}).get("data", {})  # e.g. the LM's tokenizer
    return module.eval()


def check_stored_config(config: dict, path) -> None:
    """A checkpoint's stored groups build only trusted classes that still take the stored keys (one line if not)."""
    check_trusted_groups(config, path)
    if isinstance(config.get("model"), dict):
        check_stored_targets(config["model"], "model", path)


def load_module(path, map_location="cpu"):
    """A trained module from a checkpoint alone, with `.genlab_config` and `.data_description` attached."""
    checkpoint = read_checkpoint(path, map_location=map_location)
    meta = genlab_metadata(checkpoint, path)
    check_stored_config(meta["config"], path)
    module = build_module(OmegaConf.create(meta["config"]["model"]), checkpoint, path)
    module.genlab_config, module.genlab_meta = meta["config"], meta
    return module


def check_resumable(cfg) -> Path | None:
    """Before `resume=<run_dir>` touches the run: the checkpoint it continues from loads safely and builds only
    trusted classes. Returns that checkpoint (None: a resumed sweep's job that never saved one starts afresh)."""
    path = resume_checkpoint(cfg)
    if path is not None:
        check_stored_config(genlab_metadata(read_checkpoint(path, mmap=True), path)["config"], path)
    return None if path is None else Path(path)


def check_resume_fits(cfg, datamodule, model, path: Path) -> None:
    """The resumed checkpoint was trained on the vocabulary this config's (set up) data gives (language models) and
    fits the model this config builds; checked before the run's files are touched: a refused resume leaves them."""
    checkpoint = read_checkpoint(path, mmap=True)
    stored = checkpoint["genlab"].get("data") or {}
    if "tokenizer" in stored:
        tokenizer = getattr(datamodule, "tokenizer", None)
        if tokenizer is None or tokenizer.describe() != stored["tokenizer"]:
            found = f"a {tokenizer.vocab_size}-token {tokenizer.kind} vocabulary" if tokenizer else "no vocabulary"
            raise CheckpointError(
                f"resume={cfg.resume}: this config's data gives {found}, but {path} was trained on a "
                f"{stored['tokenizer']['vocab_size']}-token {stored['tokenizer']['kind']} vocabulary; resume with the "
                f"run's own data settings (its overrides are in {Path(cfg.resume) / 'run_info.json'})"
            )
    if hasattr(model, "configure_for_data"):  # a network sized by the data is built when the trainer sets it up
        model.configure_for_data(datamodule)
    model.load_state_dict(complete_from_base(checkpoint, path)["state_dict"])  # torch's error names each key that
    # differs; fit loads it again


def resume_checkpoint(cfg) -> str | None:
    """`ckpt_path=last` (or `resume=` alone) → the resumed run's checkpoint (see resumed_checkpoint); other values pass
    through."""
    from genlab.runs.sweep_resume import resumed_run_dir

    ckpt_path, run_dir = cfg.get("ckpt_path"), resumed_run_dir(cfg)
    if run_dir is not None and ckpt_path in (None, "last"):
        return str(resumed_checkpoint(run_dir))
    return ckpt_path


def resumed_checkpoint(run_dir) -> Path:
    """The run's newest last.ckpt; when a kill during the first save of last.ckpt left none, its newest other
    (best or step) checkpoint. One-line error when the run has no checkpoint at all."""
    checkpoints = sorted(Path(run_dir, "checkpoints").glob("*.ckpt"), key=lambda path: path.stat().st_mtime)
    last = [path for path in checkpoints if path.name.startswith("last")]
    if not checkpoints:
        raise CheckpointError(f"resume={run_dir}: no checkpoint in {Path(run_dir, 'checkpoints')} to resume from")
    return (last or checkpoints)[-1]


def config_from_checkpoint(cfg: DictConfig) -> tuple[dict, DictConfig]:
    """Read `cfg.ckpt_path` safely; return the checkpoint and its stored config with this command line on top."""
    checkpoint = read_checkpoint(cfg.ckpt_path)
    stored = genlab_metadata(checkpoint, cfg.ckpt_path)["config"]
    return checkpoint, merge_stored_config(stored, cfg, list(HydraConfig.get().overrides.task), cfg.ckpt_path)
