"""genlab-export: a checkpoint as a plain genlab checkpoint (LoRA adapters merged into the weights, no base checkpoint
needed) or as a Hugging Face transformers GPT-2 directory (GPT language models)."""
import io
from pathlib import Path

from omegaconf import DictConfig

from genlab.cli.app import run_app
from genlab.checks import choice
from genlab.config.validate import validate_config

FORMATS = ("genlab", "hf")
EXPORTED_CHECKPOINT = "model.ckpt"


def export(cfg: DictConfig) -> Path:
    """Load the checkpoint (LoRA merged) and write it in `format` into this export's dir."""
    validate_config(cfg)
    choice("format", cfg.format, FORMATS)
    from genlab.checkpoints import load_module

    module = load_module(cfg.ckpt_path)
    out_dir = Path(cfg.paths.run_dir)
    if cfg.format == "genlab":
        path = write_plain_checkpoint(module, out_dir / EXPORTED_CHECKPOINT)
    else:
        from genlab.hf_export import write_hf_gpt2

        path = write_hf_gpt2(module, out_dir, cfg.ckpt_path)
    print(f"genlab-export: wrote {path}")
    return path


def write_plain_checkpoint(module, path: Path) -> Path:
    """The module's (merged) weights and genlab block, as genlab.load, genlab-eval, genlab-sample and init_from read
    them; the stored config says the adapters are gone (model.lora: null)."""
    import torch  # imported here, as by every command: config errors come before torch loads

    from genlab.runs.atomic import write_atomic

    config = dict(module.genlab_config)
    if isinstance(config.get("model"), dict) and "lora" in config["model"]:
        config["model"] = {**config["model"], "lora": None}
    genlab = {**module.genlab_meta, "config": config}
    genlab.pop("lora_base", None)
    buffer = io.BytesIO()
    torch.save({"state_dict": module.state_dict(), "genlab": genlab}, buffer)
    write_atomic(path, buffer.getvalue())
    return path


def main() -> None:
    run_app("export", export)


if __name__ == "__main__":
    main()
