"""`genlab-train -m resume=<multirun_dir>`: run an interrupted sweep again in its own dir.

The sweep's own command-line arguments come back from its `multirun.yaml` (any given again win), so the same jobs
get the same job numbers and dirs. Inside each job: a job whose run completed is skipped (its result is reused), a
job that ran (killed, failed, interrupted) continues its run from its last checkpoint, a job that never started
starts. The Optuna sweeper (hydra_plugins.genlab_sweeper) retries the trials its study left running.
"""
import re
from pathlib import Path

from omegaconf import OmegaConf

from genlab.errors import ConfigError
from genlab.loggers.run_naming import override_key
from genlab.runs.liveness import run_status
from genlab.runs.rank import global_rank
from genlab.runs.run_info import RUN_INFO_FILE, read_run_info

MULTIRUN_FILE = "multirun.yaml"
MULTIRUN_FLAGS = ("-m", "--multirun")
RESUME_ARGUMENT = re.compile(r"\+{0,2}resume=(['\"]?)(.+)\1")


def is_sweep_dir(path: str | Path | None) -> bool:
    """Whether `path` is a multirun dir (Hydra wrote its multirun.yaml there)."""
    return bool(path) and (Path(path) / MULTIRUN_FILE).is_file()


def resumed_sweep_dir(argv: list[str]) -> Path | None:
    """The multirun dir named by `resume=` on a multirun command line, else None."""
    for argument in argv:
        match = RESUME_ARGUMENT.fullmatch(argument)
        if match and is_sweep_dir(match.group(2)):
            if not any(flag in argv for flag in MULTIRUN_FLAGS) and global_rank() == 0:  # ranks > 0 run one job
                raise ConfigError(
                    f"resume={match.group(2)} is a multirun dir: resume the sweep with genlab-train -m {argument}")
            return Path(match.group(2))
    return None


def stored_arguments(sweep_dir: Path) -> list[str]:
    """The sweep's own task and hydra overrides, as its multirun.yaml recorded them."""
    overrides = OmegaConf.load(sweep_dir / MULTIRUN_FILE).hydra.overrides
    return [*overrides.hydra, *overrides.task]


def live_jobs(sweep_dir: Path) -> list[str]:
    """'job <n> (pid <pid> on <host>)' for each job of the sweep whose run is still alive."""
    alive = []
    for info_file in sorted(sweep_dir.glob(f"*/{RUN_INFO_FILE}")):
        info = read_run_info(info_file.parent)
        if run_status(info)[0] == "running":
            alive.append(f"job {info_file.parent.name} (pid {info.get('pid')} on {info.get('host')})")
    return alive


def with_sweep_arguments(argv: list[str]) -> list[str]:
    """For `-m resume=<multirun_dir>`: argv with the sweep's stored arguments that it does not set itself."""
    sweep_dir = resumed_sweep_dir(argv[1:])
    if sweep_dir is None or not any(flag in argv for flag in MULTIRUN_FLAGS):
        return argv
    if alive := live_jobs(sweep_dir):
        raise ConfigError(f"resume={sweep_dir}: the sweep is still running ({', '.join(alive)}); stop it first")
    given = {override_key(argument) for argument in argv[1:] if "=" in argument} | {"hydra.sweep.dir"}
    stored = [argument for argument in stored_arguments(sweep_dir)
              if override_key(argument) not in given and argument != "hydra.mode=MULTIRUN"]
    return [*argv, *stored, f"hydra.sweep.dir={sweep_dir}"]


def job_dir(cfg) -> Path:
    """This job's run dir (inside a resumed sweep: `<multirun_dir>/<job num>`)."""
    return Path(cfg.paths.run_dir)


def completed_job_metrics(cfg) -> dict | None:
    """Inside a resumed sweep, the final metrics of this job when its run already completed (else None)."""
    if not is_sweep_dir(cfg.get("resume")):
        return None
    info = read_run_info(job_dir(cfg))
    return info.get("final_metrics", {}) if info.get("status") == "completed" else None


def resumed_run_dir(cfg) -> Path | None:
    """The run `resume=` continues: the named run dir, or inside a resumed sweep this job's dir when its run got
    as far as a checkpoint (None: the job starts afresh)."""
    resume = cfg.get("resume")
    if not resume:
        return None
    if not is_sweep_dir(resume):
        return Path(resume)
    run_dir = job_dir(cfg)
    return run_dir if any(run_dir.glob("checkpoints/last*.ckpt")) else None
