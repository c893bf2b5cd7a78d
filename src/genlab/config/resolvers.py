"""OmegaConf resolvers that name runs: a short unique run_id and collision-free run dirs."""
import os
import secrets
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from genlab.errors import ConfigError
from genlab.runs.run_info import RUN_INFO_FILE, read_run_info


def new_id() -> str:
    """A short random id (8 hex chars): unique enough that runs started in the same second never collide."""
    return secrets.token_hex(4)


def run_id(resume: str | None) -> str:
    """The run's id: the resumed run's own id, the parent's in a DDP child process, else a new one."""
    if resume:
        info = read_run_info(Path(resume))
        if "run_id" not in info:
            raise ConfigError(f"resume={resume}: not a genlab run dir (no {RUN_INFO_FILE} there)")
        return info["run_id"]
    if os.environ.get("LOCAL_RANK", "0") != "0" and os.environ.get("GENLAB_RUN_ID"):
        return os.environ["GENLAB_RUN_ID"]
    return new_id()


def run_dir(parent: str, run_id_: str, resume: str | None) -> str:
    """`<parent>/<YYYY-MM-DD_HH-MM-SS>_<run_id>`, or the resumed run's dir."""
    if resume:
        return str(resume)
    return f"{parent}/{datetime.now():%Y-%m-%d_%H-%M-%S}_{run_id_}"


def child_dir(ckpt_path: str, kind: str, run_id_: str, output_dir: str) -> str:
    """Where eval/sample outputs go: beside the checkpoint's run (`<run>/<kind>/...`), else under output_dir."""
    ckpt = Path(ckpt_path)
    parent = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else Path(output_dir)
    return str(parent / kind / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{run_id_}")


def task_name(*, _root_) -> str:
    """`<model>_<data>` from the chosen config options. The job's config reads them from Hydra's global state;
    the multirun parent, which names the sweep dir before that state exists, reads its own `hydra` node."""
    from hydra.core.hydra_config import HydraConfig

    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else _root_.hydra.runtime.choices
    return f"{choices['model']}_{choices['data']}"


def register_resolvers() -> None:
    """Register genlab's resolvers once per process (cached: each config resolves each id once)."""
    resolvers = {
        "genlab_run_id": run_id,
        "genlab_run_dir": run_dir,
        "genlab_child_dir": child_dir,
        "genlab_sweep_id": new_id,
    }
    if not OmegaConf.has_resolver("genlab_task_name"):
        OmegaConf.register_new_resolver("genlab_task_name", task_name)
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=True)
