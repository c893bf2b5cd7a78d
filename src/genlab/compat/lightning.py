"""Hooks into private names of Lightning (see genlab.compat)."""
from lightning.fabric.utilities.logger import _convert_params
from collections.abc import Iterable

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar, ThroughputMonitor
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from genlab.compat.names import absent


def convert_params(params) -> dict:
    """Logger hyperparameters as a dict (None → {}, an argparse Namespace → its vars), as Lightning's loggers take
    them: genlab's TensorBoard and MLflow loggers flatten them their own way."""
    return _convert_params(params)


# The running fit loop: genlab logs, counts and checkpoints at the same batches as Lightning.

def attached_trainer(module: LightningModule) -> Trainer | None:
    """The Trainer running `module`, or None (the public `module.trainer` raises when there is none)."""
    return module._trainer


def logs_this_step(trainer: Trainer) -> bool:
    """Whether this training step's logged values reach the loggers (every `trainer.log_every_n_steps`): genlab
    skips `self.log` on the other steps, where a logged key costs about 0.5 ms and no logger sees it."""
    return trainer._logger_connector.should_update_logs


def pending_log_metrics(trainer: Trainer) -> dict:
    """The values logged during the current batch, which Lightning writes to the loggers after every callback's
    `on_train_batch_end`: step checkpoints carry them (genlab.callbacks.step_row)."""
    return trainer._logger_connector.metrics["log"]


def accumulating(trainer: Trainer) -> bool:
    """Whether the current batch only accumulates gradients: no optimizer step and no logged row follow it."""
    return trainer.fit_loop.epoch_loop._should_accumulate()


def logger_step(trainer: Trainer) -> int:
    """The step the current batch's row is logged at (batches that stepped an optimizer; `global_step` counts
    optimizer steps, two a batch in a GAN)."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def batch_ended_unlogged(trainer: Trainer) -> bool:
    """Whether the current train batch has ended (`on_train_batch_end` runs) and its row is not yet logged."""
    progress = trainer.fit_loop.epoch_loop.batch_progress.current
    return progress.processed != progress.completed


def train_batches_this_epoch(trainer: Trainer) -> int:
    """Train batches processed in the current epoch: checkpoints record it so a resumed epoch skips them."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed


def train_batch_index(trainer: Trainer) -> int:
    """Index of the current train batch counted across epochs (a GAN's n_critic counts batches, not steps)."""
    return trainer.fit_loop.epoch_loop.total_batch_idx


def validation_follows(trainer: Trainer) -> bool:
    """Whether the fit loop validates after the train batch that just ended (at the epoch's end or mid-epoch).
    Checkpoints saved at that validation's end are the ones Lightning resumes without repeating or skipping it."""
    return trainer.fit_loop.epoch_loop._should_check_val_fx(trainer.fit_loop._data_fetcher)


def start_ranks_with(rank_command) -> None:
    """Make Lightning's subprocess launchers (Trainer's and Fabric's) start DDP ranks > 0 with
    `rank_command(local_rank) -> (command, cwd)`: their Hydra-aware default re-runs a whole multirun in each rank
    (genlab.runs.ddp_ranks)."""
    from lightning.fabric.strategies.launchers import subprocess_script as fabric_launcher
    from lightning.pytorch.strategies.launchers import subprocess_script as trainer_launcher

    fabric_launcher._hydra_subprocess_cmd = trainer_launcher._hydra_subprocess_cmd = rank_command


def _do_nothing() -> None:
    return None


def exclude_from_step_count(optimizer) -> None:
    """Stop Lightning counting this optimizer's steps in `trainer.global_step` (Lightning #17958): a GAN's
    discriminator steps would double every step-based setting. Lightning's manual loop re-installs its counting
    hooks on every batch, so this is called per batch."""
    optimizer._on_before_step = _do_nothing
    optimizer._on_after_step = _do_nothing


# Loggers: their experiment objects are created on first use, which starts a run (wandb, MLflow).

def created_experiment(logger):
    """A Lightning logger's experiment if it exists, without creating it (the `experiment` property would)."""
    return logger._experiment


def set_experiment(logger, experiment) -> None:
    """Give a Lightning logger its experiment (None: the next use of `experiment` creates one)."""
    logger._experiment = experiment


def logger_filesystem(logger):
    """The fsspec filesystem a Lightning CSV or TensorBoard logger writes through."""
    return logger._fs


def wandb_init_arguments(logger) -> dict:
    """The keyword arguments WandbLogger passes to `wandb.init` when it creates its run (editable until then)."""
    return logger._wandb_init


def mlflow_run_chosen(logger) -> bool:
    """Whether an MLFlowLogger already has its run (created, or named by id)."""
    return logger._initialized or logger._run_id is not None


def mlflow_client(logger):
    """An MLFlowLogger's tracking client, usable before its run exists."""
    return logger._mlflow_client


def mlflow_experiment_name(logger) -> str:
    return logger._experiment_name


def use_mlflow_run(logger, run_id: str) -> None:
    """Make an MLFlowLogger log into the existing run `run_id` instead of creating one."""
    logger._run_id = run_id


# Lightning's per-step hook dispatch: it calls six callback hooks a training step (plus the validation batch hooks)
# on every callback, each in a profiler context, whether the callback overrides it or not (a few percent of a small
# model's step with genlab's dozen callbacks), and skips a hook attribute that is not callable
# (`lightning.pytorch.trainer.call._call_callback_hooks`).

BATCH_HOOKS = (
    "on_train_batch_start", "on_train_batch_end", "on_before_backward", "on_after_backward",
    "on_before_optimizer_step", "on_before_zero_grad", "on_validation_batch_start", "on_validation_batch_end",
    "on_test_batch_start", "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end",
)


def skip_inherited_batch_hooks(callbacks: Iterable[Callback]) -> None:
    """Set each callback's batch hooks that its class does not override to None (Lightning then skips them)."""
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            if getattr(type(callback), hook) is getattr(Callback, hook):
                setattr(callback, hook, None)


# Lightning classes whose private steps genlab's subclasses override or call, under public names.

class ModelCheckpointHooks(ModelCheckpoint):
    """ModelCheckpoint's interval, deferral flag and save steps, and its epoch-end rule as `saves_at_train_epoch_end`
    (genlab.callbacks.model_checkpoint.RunCheckpoint times its saves with them)."""

    @property
    def every_n_train_steps(self) -> int:
        return self._every_n_train_steps

    @property
    def save_deferred_until_validation(self) -> bool:
        """Set when a step save waits for the monitored metric (the next validation)."""
        return self._defer_save_until_validation

    @save_deferred_until_validation.setter
    def save_deferred_until_validation(self, value: bool) -> None:
        self._defer_save_until_validation = value

    @property
    def save_on_train_epoch_end_setting(self) -> bool | None:
        """The user's `save_on_train_epoch_end` (None: not set)."""
        return self._save_on_train_epoch_end

    def skips_saving(self, trainer: Trainer) -> bool:
        """Lightning's rule: no save while sanity checking, in fast_dev_run, or twice at the same step."""
        return self._should_skip_saving_checkpoint(trainer)

    def save_now(self, trainer: Trainer, top_k: bool = True) -> None:
        """Save the top-k (if `top_k`) and last checkpoints now, as Lightning's own save points do."""
        candidates = self._monitor_candidates(trainer)
        if top_k:
            self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)

    def saves_at_train_epoch_end(self, trainer: Trainer) -> bool:
        """Whether epoch saves happen at the train epoch's end (else after its validation): Lightning's rule."""
        return super()._should_save_on_train_epoch_end(trainer)

    def _should_save_on_train_epoch_end(self, trainer: Trainer) -> bool:
        return self.saves_at_train_epoch_end(trainer)


class RichProgressBarHooks(RichProgressBar):
    """RichProgressBar whose train-bar label is `epoch_description(current_epoch)`."""

    def epoch_description(self, current_epoch: int) -> str:
        return super()._get_train_description(current_epoch)

    def _get_train_description(self, current_epoch: int) -> str:
        return self.epoch_description(current_epoch)


class ThroughputMonitorHooks(ThroughputMonitor):
    """ThroughputMonitor that logs the rows of the stages `logs_stage(trainer)` accepts (all by default)."""

    def logs_stage(self, trainer: Trainer) -> bool:
        return True

    def _compute(self, trainer: Trainer, iter_num: int | None = None) -> None:
        if self.logs_stage(trainer):
            super()._compute(trainer, iter_num)


class ExperimentWriterHooks(ExperimentWriter):
    """CSVLogger's writer whose start on an existing metrics file is `take_existing_file()` (Lightning's warns and
    deletes it) and whose header change is `rewrite_with_header(fieldnames)` (Lightning's rewrites in place)."""

    def take_existing_file(self) -> None:
        super()._check_log_dir_exists()

    def rewrite_with_header(self, fieldnames: list[str]) -> None:
        super()._rewrite_with_new_header(fieldnames)

    def _check_log_dir_exists(self) -> None:
        self.take_existing_file()

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        self.rewrite_with_header(fieldnames)


def missing_private_names() -> list[str]:
    """Which of this module's private names the installed Lightning lacks: methods on their classes, instance
    attributes as assignments `self.<name> =` in their classes."""
    from lightning.fabric.strategies.launchers import subprocess_script as fabric_launcher
    from lightning.pytorch.core.optimizer import LightningOptimizer
    from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, WandbLogger
    from lightning.pytorch.loops import _FitLoop, _TrainingEpochLoop
    from lightning.pytorch.strategies.launchers import subprocess_script as trainer_launcher
    from lightning.pytorch.trainer import call

    return absent([
        (_TrainingEpochLoop, ["_should_accumulate", "_should_check_val_fx"]),
        (ModelCheckpoint, ["_should_skip_saving_checkpoint", "_monitor_candidates", "_save_topk_checkpoint",
                           "_save_last_checkpoint", "_should_save_on_train_epoch_end"]),
        (RichProgressBar, ["_get_train_description"]), (ThroughputMonitor, ["_compute"]),
        (ExperimentWriter, ["_check_log_dir_exists", "_rewrite_with_new_header"]),
        (trainer_launcher, ["_hydra_subprocess_cmd"]), (fabric_launcher, ["_hydra_subprocess_cmd"]),
        (call, ["_call_callback_hooks"]),
    ]) + unassigned([
        (Trainer, ["_logger_connector"]), (_FitLoop, ["_data_fetcher"]),
        (_TrainingEpochLoop, ["_batches_that_stepped", "total_batch_idx", "batch_progress"]),
        (LightningModule, ["_trainer"]), (LightningOptimizer, ["_on_before_step", "_on_after_step"]),
        (ModelCheckpoint, ["_every_n_train_steps", "_defer_save_until_validation", "_save_on_train_epoch_end"]),
        (CSVLogger, ["_experiment", "_fs"]), (WandbLogger, ["_experiment", "_wandb_init"]),
        (MLFlowLogger, ["_initialized", "_run_id", "_mlflow_client", "_experiment_name"]),
    ])


def unassigned(wanted: list[tuple]) -> list[str]:
    """'Class.name' for each name of `wanted` ([(class, [names])]) that is neither on the class (a method or
    property) nor assigned as `self.<name>` in the source of a class of its MRO."""
    import inspect

    def assigned(cls: type, name: str) -> bool:
        sources = [inspect.getsource(base) for base in cls.__mro__ if base.__module__ != "builtins"]
        return hasattr(cls, name) or any(f"self.{name} =" in text or f"self.{name}: " in text for text in sources)

    return [f"{cls.__name__}.{name}" for cls, names in wanted for name in names if not assigned(cls, name)]
