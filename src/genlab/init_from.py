"""init_from=<checkpoint or run dir>: a new run that starts from another run's weights (pre-train, then fine-tune).

Unlike resume= (the same run continued in its own dir, with its optimizer, schedule and step), it starts a new run
with a fresh optimizer and schedule. The architecture comes from the checkpoint: a model key whose value would
change a weight shape takes the checkpoint's value, and fails in one line naming the key when given on the command
line; every other model key (learning rate, dropout, LoRA adapters, ...) is this run's own. A run dir gives its best
checkpoint (else its last.ckpt). Language models reuse the checkpoint's tokenizer.
"""
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from genlab.checkpoints import check_stored_config, genlab_metadata, read_checkpoint
from genlab.config.stored import overridden_keys
from genlab.data.tokenizers import use_stored_tokenizer
from genlab.errors import CheckpointError
from genlab.file_hash import file_sha256
from genlab.models.build import instantiate_model
from genlab.networks.lora import is_adapter


def init_checkpoint(init_from) -> Path:
    """The checkpoint `init_from` names: a file, or a run dir's best checkpoint (else its last.ckpt)."""
    path = Path(init_from)
    if path.is_dir():
        best = sorted(path.glob("checkpoints/best-*.ckpt"), key=lambda candidate: candidate.stat().st_mtime)
        last = path / "checkpoints" / "last.ckpt"
        if best or last.is_file():
            return best[-1] if best else last
        raise CheckpointError(f"init_from={init_from}: no best-*.ckpt or last.ckpt in {path / 'checkpoints'}")
    if not path.is_file():
        raise CheckpointError(f"init_from={init_from}: no such checkpoint file or run dir")
    return path


class InitialCheckpoint:
    """The checkpoint a run starts from: read safely, its stored config judged trusted, its file hash recorded."""

    def __init__(self, init_from):
        self.path = init_checkpoint(init_from).resolve()
        self.checkpoint = read_checkpoint(self.path, mmap=True)
        self.meta = genlab_metadata(self.checkpoint, self.path)
        check_stored_config(self.meta["config"], self.path)
        self.sha256 = file_sha256(self.path)

    @property
    def record(self) -> dict:
        """What run_info.json and the dashboards keep of the source."""
        return {"path": str(self.path), "sha256": self.sha256}

    def model_config(self, cfg: DictConfig, overrides: list[str]) -> DictConfig:
        """This run's model config: the checkpoint's architecture, this config's other keys (see the module)."""
        stored = self.meta["config"]["model"]
        composed = OmegaConf.to_container(cfg.model, resolve=True)
        given = {key.split(".", 1)[1] for key in overridden_keys(overrides) if key.startswith("model.")}
        if composed.get("_target_") != stored.get("_target_"):
            if "model" in overridden_keys(overrides):
                raise CheckpointError(f"init_from={self.path} holds a {stored['_target_'].rsplit('.', 1)[-1]}, not a "
                                      f"{composed['_target_'].rsplit('.', 1)[-1]}: leave out model=... (the "
                                      "checkpoint's model is fine-tuned)")
            composed = {**stored, **{key: composed[key] for key in given if key in composed}}
        reference = weight_shapes(stored)
        config = dict(composed)
        for key in sorted(set(stored) | set(composed)):
            if key.startswith("_") or composed.get(key) == stored.get(key):
                continue
            changed = {**stored, key: composed.get(key)}
            if weight_shapes(changed) == reference:
                continue
            if key in given:
                raise CheckpointError(
                    f"init_from={self.path}: model.{key}={composed.get(key)} changes the model's weight shapes (the "
                    f"checkpoint has model.{key}={stored.get(key)}); leave it out: the architecture comes from the "
                    "checkpoint")
            config[key] = stored.get(key)
        return OmegaConf.create(config)

    def prepare_data(self, datamodule) -> None:
        """A language model's data encoded with the checkpoint's tokenizer (its vocabulary is the model's)."""
        use_stored_tokenizer(datamodule, self.meta)

    def load_into(self, model, datamodule) -> None:
        """The checkpoint's weights into `model` (built for the data first where the data sizes it): every weight it
        has, only LoRA adapters left as initialized; a LoRA model keeps this checkpoint as its adapters' base."""
        if hasattr(model, "configure_for_data"):
            model.configure_for_data(datamodule)
        result = model.load_state_dict(self.checkpoint["state_dict"], strict=False)
        missing = [key for key in result.missing_keys if not is_adapter(key)]
        if missing or result.unexpected_keys:
            problem = f"lacks {missing[0]}" if missing else f"has {result.unexpected_keys[0]}, which the model has not"
            raise CheckpointError(f"init_from={self.path}: the checkpoint {problem}; use the checkpoint's own model")
        if len(result.missing_keys):  # adapters: their base is this checkpoint, which their checkpoints point to
            model.lora_base = self.record


def weight_shapes(model_config: dict) -> dict[str, tuple]:
    """{state-dict key: shape} of the model a config builds, LoRA adapters left out (they are this run's own), built
    on the meta device (no memory, no init cost)."""
    try:
        with torch.device("meta"):
            module = instantiate_model(OmegaConf.create(model_config))
    except Exception:  # noqa: BLE001 - a config that cannot be built has no shapes to compare
        return {}
    return {key: tuple(value.shape) for key, value in module.state_dict().items() if not is_adapter(key)}


def reuse_tokenizer_on_resume(datamodule, ckpt_path) -> None:
    """A resumed fine-tuning run (started with init_from) keeps the vocabulary it was given, not its text's own."""
    meta = genlab_metadata(read_checkpoint(ckpt_path, mmap=True), ckpt_path)
    if meta["config"].get("init_from"):
        use_stored_tokenizer(datamodule, meta)
