"""LoRA runs' checkpoints: only the adapters, with the path and hash of the base checkpoint they adapt (completed
from that base by genlab.checkpoints.complete_from_base wherever one is loaded)."""
from genlab.networks.lora import is_adapter

BASE_KEY = "lora_base"  # in a checkpoint's genlab block: {"path": ..., "sha256": ...}


def keep_adapters_only(checkpoint: dict, base: dict) -> None:
    """Drop the frozen base weights from a checkpoint being saved and record the base they come from."""
    checkpoint["state_dict"] = {key: value for key, value in checkpoint["state_dict"].items() if is_adapter(key)}
    checkpoint.setdefault("genlab", {})[BASE_KEY] = dict(base)
