"""SLURM: what genlab's submitit launchers add (a requeued job continues its own run) and the Trainer's SLURM plugin.

Exactly one side requeues, and it is Lightning: on USR1 (`signal_delay_s` before the time limit, or sent by
hand) its `SLURMEnvironment(auto_requeue=True)` saves `hpc_ckpt_<n>.ckpt` in the run dir and runs
`scontrol requeue`, at the end of the batch (genlab.callbacks.requeue_at_batch_end); SLURM then stops the job with
SIGTERM, on which GracefulInterrupt saves `checkpoints/last.ckpt` at the next batch boundary. Lightning holds the training state; submitit only holds the
pickled launcher call, so its requeue is off: `checkpoint()` returns None, `max_num_timeout` is 0, and its
handler listens on USR2, which genlab never asks SLURM to send. The launcher classes themselves live in
`hydra_plugins.genlab_launcher` (Hydra loads launchers only from there); their behaviour is the mixins here.
"""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, setup_globals
from omegaconf import open_dict

from genlab.runs.run_info import read_run_info

AUTO_REQUEUE_ENV = "GENLAB_SLURM_AUTO_REQUEUE"  # set by SlurmLauncher in the job: the only place a requeue can resume
REQUEUE_SIGNAL = signal.SIGUSR1
CHECKPOINT_GLOBS = ("checkpoints/last*.ckpt", "hpc_ckpt_*.ckpt")


def slurm_environment() -> list:
    """Trainer plugins for a SLURM job: Lightning's SLURMEnvironment, requeueing on USR1 only under SlurmLauncher.

    A job started some other way (your own sbatch script) would come back as a new run that cannot find its
    checkpoint, so there auto-requeue is off. Interactive allocations (job name bash/interactive) get nothing.
    """
    from lightning.fabric.plugins.environments import SLURMEnvironment

    if not SLURMEnvironment.detect():
        return []
    auto_requeue = os.environ.get(AUTO_REQUEUE_ENV) == "1"
    return [SLURMEnvironment(auto_requeue=auto_requeue, requeue_signal=REQUEUE_SIGNAL)]


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The run's most recently written checkpoint: `checkpoints/last.ckpt` or Lightning's `hpc_ckpt_<n>.ckpt`.

    After a requeue last.ckpt (saved on SIGTERM) is the newer one; hpc_ckpt_<n> (saved on USR1) wins only if the
    job was killed before that. Both are taken at a batch's end.
    """
    found = [path for pattern in CHECKPOINT_GLOBS for path in run_dir.glob(pattern)]
    return max(found, key=lambda path: path.stat().st_mtime) if found else None


def quoted(value: object) -> str:
    """A Hydra override value that stays this exact string: a path with commas or '=', a run_id like 291249e4."""
    return "'" + str(value).replace("'", "\\'") + "'"


def continuation_overrides(run_dir: Path) -> list[str]:
    """For a job that already ran in `run_dir` (SLURM requeued it): keep its run_id, resume its newest checkpoint."""
    info = read_run_info(run_dir)
    if "run_id" not in info:
        return []
    checkpoint = newest_checkpoint(run_dir)
    return [f"run_id={quoted(info['run_id'])}", *([f"ckpt_path={quoted(checkpoint)}"] if checkpoint else [])]


def requeued_while_running() -> bool:
    """True when SLURM has requeued this job since this attempt started (its restart count moved on)."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        return False
    try:
        shown = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    restarts = re.search(r"\bRestarts=(\d+)", shown)
    return restarts is not None and int(restarts.group(1)) > int(os.environ.get("SLURM_RESTART_COUNT", "0"))


class ContinuingLauncher:
    """Mixin for hydra-submitit launchers: a job whose dir already holds its run continues that run."""

    def __call__(self, sweep_overrides: list[str], job_dir_key: str, job_num: int, job_id: str,
                 singleton_state: dict) -> JobReturn:
        Singleton.set_state(singleton_state)
        setup_globals()
        overrides = [*sweep_overrides, *continuation_overrides(self.job_dir(sweep_overrides, job_num))]
        return super().__call__(overrides, job_dir_key, job_num, job_id, singleton_state)

    def job_dir(self, sweep_overrides: list[str], job_num: int) -> Path:
        """`<sweep dir>/<subdir>` of this job, composed exactly as hydra-submitit composes it."""
        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(sweep_overrides))
        with open_dict(config.hydra.job):
            config.hydra.job.num = job_num
        HydraConfig.instance().set_config(config)
        return Path(config.hydra.sweep.dir) / str(config.hydra.sweep.subdir)

    def checkpoint(self, *args, **kwargs) -> None:
        """Submitit calls this to requeue on its own signal: never, Lightning requeues."""
        return None


class RequeueingLauncher(ContinuingLauncher):
    """Mixin for the SLURM launcher: Lightning may requeue, and a requeued attempt leaves no result behind."""

    def __call__(self, sweep_overrides: list[str], job_dir_key: str, job_num: int, job_id: str,
                 singleton_state: dict) -> JobReturn:
        os.environ[AUTO_REQUEUE_ENV] = "1"
        job_return = super().__call__(sweep_overrides, job_dir_key, job_num, job_id, singleton_state)
        if job_return.status != JobStatus.COMPLETED and requeued_while_running():
            # SystemExit passes submitit's result pickling: the sweep waits for the requeued attempt's result.
            sys.exit(f"genlab: SLURM requeued job {os.environ['SLURM_JOB_ID']}; the next attempt resumes this run")
        return job_return
