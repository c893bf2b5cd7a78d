"""`genlab-train -m resume=<multirun_dir>`: run an interrupted sweep again in its own dir (and `resume=<run_dir>`:
continue one run with its own arguments).

The sweep's own command-line arguments come back from its `multirun.yaml` (a run's from its `run_info.json`; any
given again win), so the same jobs get the same job numbers and dirs. Inside each job: a job whose run completed is skipped (its result is reused), a
job that ran (killed, failed, interrupted) continues its run from its last checkpoint, a job that never started
starts. The Optuna sweeper (hydra_plugins.genlab_sweeper) retries the trials its study left running.
"""
from pathlib import Path

from omegaconf import OmegaConf

from genlab.errors import ConfigError
from genlab.config.overrides import dir_named_by_resume, override_key
from genlab.runs.liveness import sweep_job_runs
from genlab.runs.rank import global_rank
from genlab.runs.run_info import RUN_INFO_FILE, read_run_info

MULTIRUN_FILE = "multirun.yaml"
MULTIRUN_FLAGS = ("-m", "--multirun")


def is_sweep_dir(path: str | Path | None) -> bool:
    """Whether `path` is a multirun dir (Hydra wrote its multirun.yaml there)."""
    return bool(path) and (Path(path) / MULTIRUN_FILE).is_file()


def resumed_sweep_dir(argv: list[str]) -> Path | None:
    """The multirun dir named by `resume=` on a multirun command line, else None."""
    resumed = dir_named_by_resume(argv)
    if not is_sweep_dir(resumed):
        return None
    if not any(flag in argv for flag in MULTIRUN_FLAGS) and global_rank() == 0:  # ranks > 0 run one job
        raise ConfigError(f"resume={resumed} is a multirun dir: resume the sweep with genlab-train -m resume={resumed}")
    return resumed


def stored_arguments(sweep_dir: Path) -> list[str]:
    """The sweep's own task and hydra overrides, as its multirun.yaml recorded them."""
    overrides = OmegaConf.load(sweep_dir / MULTIRUN_FILE).hydra.overrides
    return [*overrides.hydra, *overrides.task]


def live_jobs(sweep_dir: Path) -> list[str]:
    """'job <n> (pid <pid> on <host>)' for each job of the sweep whose run is still alive."""
    return [f"job {job_num} (pid {info.get('pid')} on {info.get('host')})"
            for job_num, _, info, status, _ in sweep_job_runs(sweep_dir) if status == "running"]


def with_resumed_arguments(argv: list[str]) -> list[str]:
    """For `-m resume=<multirun_dir>` or `resume=<run_dir>`: argv plus the sweep's or run's recorded arguments that
    it does not set itself, so a resume needs no more than `resume=<dir> ckpt_path=last`."""
    sweep_dir = resumed_sweep_dir(argv[1:])
    multirun = any(flag in argv for flag in MULTIRUN_FLAGS)
    given = {override_key(argument) for argument in argv[1:] if "=" in argument}
    if sweep_dir is not None and multirun:
        if alive := live_jobs(sweep_dir):
            raise ConfigError(f"resume={sweep_dir}: the sweep is still running ({', '.join(alive)}); stop it first")
        stored = [argument for argument in stored_arguments(sweep_dir)
                  if not overridden(override_key(argument), given | {"hydra.sweep.dir"})
                  and argument != "hydra.mode=MULTIRUN"]
        check_stored_targets(stored, sweep_dir, MULTIRUN_FILE)
        return [*argv, *stored, f"hydra.sweep.dir={sweep_dir}"]
    run_dir = dir_named_by_resume(argv[1:])
    if multirun or run_dir is None or not (run_dir / RUN_INFO_FILE).is_file():
        return argv
    stored = [argument for argument in recorded_run_arguments(run_dir)  # init_from: the checkpoint has the weights
              if not overridden(override_key(argument), given | {"resume", "ckpt_path", "init_from"})]
    check_stored_targets(stored, run_dir, RUN_INFO_FILE)
    return [*argv, *stored]


def overridden(key: str, given: set[str]) -> bool:
    """Whether the command line sets `key` itself or chooses the group it belongs to (`data=digits` replaces a
    stored `data.path=...`)."""
    return key in given or any(key.startswith((f"{choice}.", f"{choice}/")) for choice in given)


def recorded_run_arguments(run_dir: Path) -> list[str]:
    """The command-line overrides a run started with (its run_info.json `overrides`), Hydra's own left out."""
    overrides = read_run_info(run_dir).get("overrides") or []
    if not isinstance(overrides, list) or not all(isinstance(override, str) for override in overrides):
        raise ConfigError(f"{run_dir / RUN_INFO_FILE}: overrides must be a list of strings, got {overrides!r:.80}")
    return [override for override in overrides if not override_key(override).startswith("hydra")]


def check_stored_targets(stored: list[str], resumed: Path, record_file: str) -> None:
    """A sweep's multirun.yaml or a run's run_info.json is a stored config too: an override of its that sets a
    `_target_` must name a trusted class (see genlab.config.trusted_targets), like a checkpoint's stored config."""
    from genlab.config.trusted_targets import buildable_class

    for argument in stored:
        if override_key(argument).endswith("_target_"):
            target = argument.split("=", 1)[1].strip("'\"")
            if not buildable_class(target):
                raise ConfigError(
                    f"resume={resumed}: the {'sweep' if record_file == MULTIRUN_FILE else 'run'}'s stored override "
                    f"{argument} (in its {record_file}) names "
                    f"{target}, which is not a genlab model, data or network class, nor a class in a "
                    "GENLAB_CONFIG_PATH directory; refusing to run it")


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
    return run_dir if any(run_dir.glob("checkpoints/*.ckpt")) else None
