"""hydra-optuna-sweeper's search with a study that outlives the command and resumes where it stopped.

- `storage: null` keeps the study in `<multirun_dir>/optuna.db` (sqlite), not in memory.
- `genlab-train -m resume=<multirun_dir>` loads that study, retries each trial it left RUNNING (its sweep was
  killed) under the trial's own job number — so the job continues its run from its last checkpoint — and then runs
  only the trials still missing: the study ends with `n_trials` trials in all. A seeded sampler is seeded anew
  (seed + trials so far), so the new trials do not repeat the first ones.
- Trial number = job number = job dir name, as with the stock sweeper.
- Any failed trial makes the command exit non-zero with one line (after optimization_results.yaml is written).
"""
import functools
import logging
import math
from pathlib import Path

import optuna
from hydra.utils import instantiate
from omegaconf import OmegaConf
from optuna.trial import Trial, TrialState

from genlab.compat.optuna_sweeper import OptunaSweeperSteps, trial_id
from genlab.errors import SweepFailed
from genlab.runs.multirun_summary import SUMMARY_CSV
from genlab.runs.sweep_resume import MULTIRUN_FILE, resumed_sweep_dir

log = logging.getLogger(__name__)
STUDY_FILE = "optuna.db"
DEFAULT_STUDY_NAME = "genlab"


class ResumableOptunaSweep(OptunaSweeperSteps):
    """The stock sweeper's search space, sampler and failure rules; genlab's study storage, resume and exit code."""

    def sweep(self, arguments: list[str]) -> None:
        distributions, fixed_params = self.trial_space(arguments)
        study = self.load_study()
        if resumed_sweep_dir(["-m", *arguments]) is not None:
            for stale in [trial for trial in study.trials if trial.state == TrialState.RUNNING]:
                log.info(f"Retrying trial {stale.number}, left running by the interrupted sweep")
                self.run_batch(study, [Trial(study, trial_id(stale))], distributions, fixed_params)
        while (to_go := self.n_trials - len(study.trials)) > 0:
            trials = [study.ask() for _ in range(min(self.n_jobs, to_go))]
            self.run_batch(study, trials, distributions, fixed_params)
        self.finish(study)

    def trial_space(self, arguments: list[str]) -> tuple[dict, dict]:
        """(distributions Optuna samples, fixed overrides every trial gets), as the stock sweeper builds them."""
        distributions, fixed_params = self.distributions_from([*self.search_space_overrides(), *arguments])
        distributions = {**(self.search_space_distributions or {}), **distributions}
        for name in fixed_params:
            distributions.pop(name, None)
        if isinstance(self.sampler, functools.partial) and self.sampler.func == optuna.samplers.GridSampler:
            choices = {name: self.grid_choices(dist) for name, dist in distributions.items()}
            self.sampler = self.sampler(choices)
            self.n_trials = min(self.n_trials, math.prod(len(c) for c in choices.values()))
        return distributions, fixed_params

    def load_study(self) -> optuna.Study:
        """The sweep's study: created on first use, loaded with its trials when the sweep is resumed."""
        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / MULTIRUN_FILE)  # the sweep's arguments, for resume (as Hydra's grid)
        storage = self.storage or f"sqlite:///{sweep_dir / STUDY_FILE}"
        study = optuna.create_study(study_name=self.study_name or DEFAULT_STUDY_NAME, storage=storage,
                                    sampler=self.sampler, directions=self.directions(), load_if_exists=True)
        log.info(f"Study {study.study_name} in {storage}: {len(study.trials)} trials so far, {self.n_trials} in all")
        if study.trials:
            study.sampler = self.sampler_for_resume(len(study.trials))
        return study

    def sampler_for_resume(self, trials_so_far: int) -> optuna.samplers.BaseSampler:
        """The sampler seeded with `seed + trials so far`: seeded as at the start, it would draw the first trials'
        parameters again (the grid sampler needs no seed: it skips the grid points the study has)."""
        settings = self.config.hydra.sweeper.sampler
        if isinstance(self.sampler, optuna.samplers.GridSampler) or settings.get("seed") is None:
            return self.sampler
        return instantiate(settings, seed=settings.seed + trials_so_far)

    def run_batch(self, study: optuna.Study, trials: list[Trial], distributions: dict, fixed_params: dict) -> None:
        """Launch the trials as jobs numbered by their trial numbers; tell the study each one's value or failure."""
        overrides = self.trial_overrides(trials, distributions, fixed_params)
        numbers = [trial.number for trial in trials]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), numbers  # asked together
        returns = self.launcher.launch(overrides, initial_job_idx=numbers[0])
        failures = []
        for trial, job_return in zip(trials, returns):
            try:
                value = job_return.return_value  # re-raises the job's error
                values = [float(value)] if len(self.directions()) == 1 else [float(v) for v in value]
                study.tell(trial, values=values)
            except Exception as error:  # noqa: BLE001 - a failed trial is recorded, as the stock sweeper does
                study.tell(trial, state=TrialState.FAIL)
                log.warning(f"Trial {trial.number} failed: {error}")
                failures.append(job_return)
        if failures and len(failures) / len(returns) > self.max_failure_rate:
            failures[0].return_value  # stop the study with the first failed job's own error

    def finish(self, study: optuna.Study) -> None:
        """Write optimization_results.yaml (best trial) and fail the command when any trial failed."""
        sweep_dir = Path(self.config.hydra.sweep.dir)
        completed = [trial for trial in study.trials if trial.state == TrialState.COMPLETE]
        failed = [trial for trial in study.trials if trial.state == TrialState.FAIL]
        if completed:
            if len(self.directions()) == 1:
                results = {"name": "optuna", "best_params": study.best_trial.params, "best_value": study.best_value}
            else:
                results = {"name": "optuna",
                           "solutions": [{"params": t.params, "values": t.values} for t in study.best_trials]}
            OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")
        if failed:
            raise SweepFailed(
                f"{len(failed)} of {len(study.trials)} trials failed (trials {', '.join(str(t.number) for t in failed)};"
                f" errors in {sweep_dir / SUMMARY_CSV})")
