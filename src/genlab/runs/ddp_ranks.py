"""DDP rank processes of a Hydra job: the same job, started again as a single run in that job's own dir.

Lightning starts ranks > 0 by re-running the command line with `hydra.run.dir` added. Inside a multirun that
command is the whole sweep (`-m` and every job's values): each rank began a sweep of its own, in dirs of its own.
genlab gives Lightning this command instead: the job's own overrides, no `-m`, `hydra.run.dir` = the job's dir.
"""
import contextlib
import os
import sys

from genlab.runs.slurm import quoted

DDP_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "GLOBAL_RANK", "RANK", "WORLD_SIZE",
                 "LOCAL_WORLD_SIZE")


def job_rank_command(local_rank: int) -> tuple[list[str], str]:
    """(command, cwd) of local rank `local_rank` of the running Hydra job (in place of Lightning's Hydra-aware default)."""
    import __main__
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    hydra = HydraConfig.get()
    if __main__.__spec__ is None:
        command = [sys.executable, os.path.abspath(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    command += [*hydra.overrides.task, f"hydra.run.dir={quoted(hydra.runtime.output_dir)}",
                f"hydra.job.name={hydra.job.name}_ddp_process_{local_rank}", "hydra.output_subdir=null"]
    return command, get_original_cwd()


def start_ranks_as_job_processes() -> None:
    """Make Lightning's subprocess launchers (Trainer's and Fabric's) start DDP ranks with `job_rank_command`."""
    from genlab.compat.lightning import start_ranks_with

    start_ranks_with(job_rank_command)


@contextlib.contextmanager
def job_process_group():
    """One job's DDP process group and the variables Lightning sets for it (LOCAL_RANK, MASTER_PORT, ...) end with
    the job: the next job of a multirun, in this same process, starts ranks of its own."""
    import torch.distributed as dist

    saved = {name: os.environ.get(name) for name in DDP_VARIABLES}
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
