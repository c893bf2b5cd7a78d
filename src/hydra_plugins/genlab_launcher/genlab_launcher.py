"""Hydra launcher plugins behind `hydra/launcher=slurm` and `hydra/launcher=submitit_local` (see genlab.runs.slurm)."""
from hydra_plugins.hydra_submitit_launcher import submitit_launcher

from genlab.runs.slurm import ContinuingLauncher, RequeueingLauncher


class SlurmLauncher(RequeueingLauncher, submitit_launcher.SlurmLauncher):
    """hydra-submitit's SLURM launcher whose jobs Lightning requeues back into their own run dir."""


class LocalLauncher(ContinuingLauncher, submitit_launcher.LocalLauncher):
    """hydra-submitit's local launcher taking the same path, as subprocesses of this machine."""
