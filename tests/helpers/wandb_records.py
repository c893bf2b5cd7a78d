"""wandb offline runs read back as wandb itself reads them, and an environment that must keep wandb offline."""
import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def wandb_env(tmp: Path, base_url: str) -> dict[str, str]:
    """An API key and a server that would both be used if anything went online; wandb's own dirs under `tmp`."""
    return {"WANDB_API_KEY": "x" * 40, "WANDB_BASE_URL": base_url, "WANDB_CONFIG_DIR": str(tmp / "wandb_config"),
            "WANDB_CACHE_DIR": str(tmp / "wandb_cache"), "WANDB_DATA_DIR": str(tmp / "wandb_data")}


def wandb_records(run_dir: Path) -> list[dict]:
    """The records of an offline run's .wandb log, as wandb's own reader (`wandb leet inspect --json`) prints them."""
    result = subprocess.run([str(BIN / "wandb"), "leet", "inspect", str(run_dir), "--json"],
                            capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in result.stdout.splitlines()]


def run_record(run_dir: Path) -> dict:
    (run,) = [record["run"] for record in wandb_records(run_dir) if record["type"] == "run"]
    return run
