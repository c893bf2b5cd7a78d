"""MLflow for genlab (optional extra `genlab[mlflow]`): one MLflow run per genlab run, in an experiment named after
the task, with the flattened config as params; sample grids and texts go in as artifacts (see genlab.loggers.media).
A resumed genlab run goes on in its MLflow run (found by its `genlab.run_id` tag)."""
import os
from argparse import Namespace

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

from genlab.compat.lightning import (convert_params, mlflow_client, mlflow_experiment_name, mlflow_run_chosen,
                                     use_mlflow_run)
from genlab.config.validate import require_mlflow
from genlab.loggers import run_naming
from genlab.loggers.run_logger import RunLogger, flat_params


class MLflowRun(RunLogger, MLFlowLogger):
    """Lightning's MLFlowLogger named like the wandb run, tagged with genlab's run id, tags and sweep."""

    def __init__(
        self,
        experiment_name: str,
        tracking_uri: str,
        run_dir: str,
        genlab_run_id: str,
        run_name: str | None = None,
        tags: list[str] | None = None,
        **kwargs,
    ):
        require_mlflow()
        if tracking_uri.startswith("file:"):
            # MLflow 3 refuses its file store unless asked (it wants a database; genlab's SQLAlchemy 1 can't serve one).
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        run_tags = {tag: "true" for tag in tags or []} | {"genlab.run_id": genlab_run_id, "genlab.run_dir": run_dir}
        if group := run_naming.sweep_group(run_dir):
            run_tags["genlab.sweep"] = group
        if run_name is None:
            run_name = run_naming.run_name(run_naming.job_overrides(), fallback=genlab_run_id)
        super().__init__(experiment_name=experiment_name, tracking_uri=tracking_uri, run_name=run_name or genlab_run_id,
                         tags=run_tags, **kwargs)
        self.genlab_run_id = genlab_run_id
        self.logged_params: dict[str, str] = {}

    @property
    @rank_zero_experiment
    def experiment(self):
        if not mlflow_run_chosen(self):
            self.continue_existing_run()
        return super().experiment

    def continue_existing_run(self) -> None:
        """When this genlab run already has an MLflow run (a resume), log into it again: it runs again, and the
        params it holds count as logged (a changed value goes to a tag, see log_hyperparams)."""
        client = mlflow_client(self)
        experiment = client.get_experiment_by_name(mlflow_experiment_name(self))
        if experiment is None or experiment.lifecycle_stage == "deleted":
            return
        runs = client.search_runs([experiment.experiment_id], f"tags.`genlab.run_id` = '{self.genlab_run_id}'",
                                  max_results=1, order_by=["attributes.start_time ASC"])
        if runs:
            use_mlflow_run(self, runs[0].info.run_id)
            client.update_run(runs[0].info.run_id, status="RUNNING")
            self.logged_params = dict(runs[0].data.params)

    def log_run_config(self, config: dict) -> None:
        self.log_hyperparams(config)

    @rank_zero_only
    def log_hyperparams(self, params: dict | Namespace) -> None:
        """Params flattened like the config's. MLflow params are write-once, so a key logged again with another
        value (e.g. `metrics/feature_net`: `classifier`, then the trained network's id) goes to a tag of that name."""
        _ = self.experiment  # a resumed run's MLflow run, and the params it holds, are found first
        params = {key: str(value)[:250] for key, value in flat_params(convert_params(params)).items()}
        new = {key: value for key, value in params.items() if key not in self.logged_params}
        if new:
            super().log_hyperparams(new)
        for key, value in params.items():
            if key not in new and self.logged_params[key] != value:
                self.experiment.set_tag(self.run_id, key, value)
        self.logged_params |= new
