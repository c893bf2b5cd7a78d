"""OmegaConf resolvers that name runs: a short unique run_id and collision-free run dirs."""
import hashlib
import os
import secrets
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from genlab.checks import path_name
from genlab.errors import ConfigError
from genlab.runs.run_info import RUN_INFO_FILE, read_run_info
from genlab.runs.sweep_resume import is_sweep_dir


def new_id() -> str:
    """A short random id (8 hex chars): unique enough that runs started in the same second never collide."""
    return secrets.token_hex(4)


def slurm_job_run_id() -> str | None:
    """One id for every task of a multi-task SLURM job (its DDP ranks), derived from the job's id."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if job_id and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return hashlib.sha1(f"slurm-{job_id}".encode()).hexdigest()[:8]
    return None


def sweep_job_run_id() -> str:
    """In a resumed sweep: the id of the run this job already has, else a new one."""
    from hydra.core.hydra_config import HydraConfig

    info = read_run_info(Path(HydraConfig.get().runtime.output_dir))
    return info.get("run_id") or new_id()


def run_id(resume: str | None) -> str:
    """The run's id: the resumed run's own id, the parent's in a DDP child process (or SLURM task), else a new one."""
    if os.environ.get("LOCAL_RANK", "0") != "0" and os.environ.get("GENLAB_RUN_ID"):
        return os.environ["GENLAB_RUN_ID"]
    if resume and is_sweep_dir(resume):
        return sweep_job_run_id()
    if resume:
        info = read_run_info(Path(resume))
        if "run_id" not in info:
            raise ConfigError(f"resume={resume}: not a genlab run dir (no {RUN_INFO_FILE} there)")
        return info["run_id"]
    return slurm_job_run_id() or new_id()


def run_dir(parent: str, run_id_: str, resume: str | None) -> str:
    """`<parent>/<YYYY-MM-DD_HH-MM-SS>_<run_id>`, made here so that no two runs share one (a run_id given twice in a
    second), or the resumed run's dir."""
    if resume:
        return str(resume)
    path = Path(parent, f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{path_name('run_id', run_id_)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir()
    except FileExistsError:
        raise ConfigError(f"{path} already exists: another run started with run_id={run_id_} this second; "
                          "give another run_id, or resume=<run_dir> to continue a run") from None
    return str(path)


def child_dir(ckpt_path: str, kind: str, run_id_: str, output_dir: str) -> str:
    """Where eval/sample outputs go: beside the checkpoint's run (`<run>/<kind>/...`), else under output_dir."""
    ckpt = Path(ckpt_path)
    parent = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else Path(output_dir)
    return str(parent / kind / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{path_name('run_id', run_id_)}")


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
        "genlab_name": path_name,
    }
    if not OmegaConf.has_resolver("genlab_task_name"):
        OmegaConf.register_new_resolver("genlab_task_name", task_name)
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=True)
