"""Hooks into private names of hydra-optuna-sweeper and Optuna (see genlab.compat): the stock sweeper's steps under
public names, so genlab's resumable sweep (genlab.runs.resumable_optuna) keeps its search space, grid handling and
trial overrides."""
from hydra_plugins.hydra_optuna_sweeper import _impl

from genlab.compat.names import absent


class OptunaSweeperSteps(_impl.OptunaSweeperImpl):
    """hydra-optuna-sweeper's sweeper, its private steps callable by public names."""

    def search_space_overrides(self) -> list[str]:
        """The sweeper's `params` config as overrides (after its `search_space` config is processed)."""
        self._process_searchspace_config()
        return self._parse_sweeper_params_config()

    @staticmethod
    def distributions_from(overrides: list[str]) -> tuple[dict, dict]:
        """(Optuna distributions, fixed values) of sweep overrides such as `x=interval(0,1)` or `y=1,2`."""
        return _impl.create_params_from_overrides(overrides)

    def grid_choices(self, distribution) -> list:
        """The values a GridSampler tries for one distribution."""
        return self._to_grid_sampler_choices(distribution)

    def trial_overrides(self, trials: list, distributions: dict, fixed_params: dict) -> list:
        """Each trial's overrides, its parameters sampled from `distributions`."""
        return self._configure_trials(trials, distributions, fixed_params)

    def directions(self) -> list:
        """The study's optimization directions, one per objective."""
        return self._get_directions()


def trial_id(trial) -> int:
    """Optuna's storage id of a (frozen) trial: a RUNNING trial of an interrupted study is re-opened by it."""
    return trial._trial_id


def missing_private_names() -> list[str]:
    """Which of this module's private names the installed hydra-optuna-sweeper and Optuna lack."""
    import warnings

    from optuna.trial import create_trial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_trial is marked experimental
        trial = create_trial(value=0.0)
    return absent([(_impl.OptunaSweeperImpl, ["_process_searchspace_config", "_parse_sweeper_params_config",
                                              "_to_grid_sampler_choices", "_configure_trials", "_get_directions"]),
                   (_impl, ["create_params_from_overrides"]), (trial, ["_trial_id"])])
