"""Every experiment, debug and trainer config composes and runs a real batch (not only composes)."""

import math

import pytest

from conftest import REPO, SHARED_DATA, read_run_info, run_dirs, run_subprocess, train_in_process

CONF = REPO / "conf"
# experiment name part → the shared data folder it reads (the fine-tuning pair's text is Tiny Shakespeare's)
NEEDS_SHARED = {"mnist": "mnist", "shakespeare": "tinyshakespeare", "gpt_pretrain": "tinyshakespeare",
                "gpt_finetune": "tinyshakespeare", "gpt_lora": "tinyshakespeare"}
FINE_TUNES = {"gpt_finetune_cpu": "gpt_pretrain_cpu", "gpt_lora_cpu": "gpt_pretrain_cpu"}  # → the base they start from


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


# dcgan_cifar10 has no shared data: test_cifar10_experiment_runs_on_generated_batches runs it on generated batches.
@pytest.mark.parametrize("experiment", [name for name in options("experiment") if not name.endswith("cifar10")])
def test_experiment_runs_one_fast_dev_run_batch(run_cli, output_dir, experiment, request):
    folder = next((f for part, f in NEEDS_SHARED.items() if part in experiment), None)
    if folder and not (SHARED_DATA / folder).is_dir():
        pytest.skip(f"{SHARED_DATA}/{folder} is absent")
    base = [f"init_from={request.getfixturevalue('pretrained_base')}"] if experiment in FINE_TUNES else []
    result = run_cli("train", f"experiment={experiment}", "debug=fdr", f"paths.data_dir={SHARED_DATA}",
                     "metrics.feature_net=null", *base)  # FID/KID/IS have their own tests
    assert result.exit_code == 0, result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    assert read_run_info(run_dir)["status"] == "completed"


@pytest.fixture(scope="module")
def pretrained_base(tmp_path_factory, cache_dir):
    """A run of the experiment the fine-tuning experiments start from (two steps of it: its architecture matters)."""
    (experiment,) = set(FINE_TUNES.values())
    root = tmp_path_factory.mktemp("base")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENLAB_OUTPUT_DIR", str(root))
        patch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
        train_in_process(f"experiment={experiment}", f"paths.data_dir={SHARED_DATA}", "trainer.max_steps=2",
                         "data.train_batches_per_epoch=2", "data.val_windows=8", "test=false", "metrics=none",
                         "callbacks.rich_progress_bar=null", "task_name=base")
    (run_dir,) = run_dirs(root, "base")
    return run_dir


@pytest.mark.parametrize("debug", options("debug"))
def test_debug_config_runs(run_cli, output_dir, debug):
    result = run_cli("train", f"debug={debug}", "callbacks.rich_progress_bar=null")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    assert read_run_info(run_dir)["status"] == "completed"
    if debug == "profiler":
        assert list(run_dir.glob("*profile*.txt"))


@pytest.mark.parametrize("trainer", ["default", "cpu"])
def test_single_process_trainer_configs_run_one_batch(run_cli, trainer):
    assert run_cli("train", f"trainer={trainer}", "debug=fdr").exit_code == 0


@pytest.mark.parametrize("logger", options("logger"))
def test_logger_configs_run_one_batch_offline(run_cli, output_dir, logger, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    result = run_cli("train", f"logger={logger}", "debug=limit", "callbacks.rich_progress_bar=null")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    assert (run_dir / "metrics.csv").is_file()
    assert (run_dir / "tensorboard").is_dir() == (logger in ("tensorboard", "many"))
    assert (run_dir / "wandb").is_dir() == (logger in ("wandb", "many"))
    if logger == "tensorboard":
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
        assert "samples" in events.Tags()["images"] and "train/g_loss" in events.Tags()["scalars"]


def test_ddp_cpu_trains_with_two_real_processes_into_one_run_dir(output_dir):
    result = run_subprocess("train", "trainer=ddp_cpu", "debug=limit", "callbacks.rich_progress_bar=null",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Starting with 2 processes" in result.stdout + result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    assert read_run_info(run_dir)["status"] == "completed"
    assert (run_dir / "metrics.csv").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize("experiment", ["dcgan_digits", "gan_digits", "vae_digits", "cnn_digits", "lstm_digits",
                                        "gpt_shakespeare_cpu", "lstm_shakespeare"])
def test_bf16_mixed_precision_trains_every_model_family_on_cpu(run_cli, output_dir, experiment):
    if "shakespeare" in experiment and not (SHARED_DATA / "tinyshakespeare").is_dir():
        pytest.skip(f"{SHARED_DATA}/tinyshakespeare is absent")
    result = run_cli("train", f"experiment={experiment}", "trainer.precision=bf16-mixed", "debug=limit",
                     f"paths.data_dir={SHARED_DATA}", "metrics.feature_net=null", "callbacks.rich_progress_bar=null")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    info = read_run_info(run_dir)
    assert info["status"] == "completed"
    assert all(math.isfinite(value) for value in info["final_metrics"].values()), info["final_metrics"]


def test_cifar10_experiment_runs_on_generated_batches(run_cli, output_dir, tmp_path):
    from helpers.cifar_files import write_batches

    write_batches(tmp_path / "data" / "cifar10", test_count=200)
    result = run_cli("train", "experiment=dcgan_cifar10", "debug=fdr", f"paths.data_dir={tmp_path / 'data'}",
                     "model.g_width=8", "model.d_width=8")
    assert result.exit_code == 0, result.stderr
    (run_dir,) = (output_dir / "debug" / "runs").iterdir()
    assert read_run_info(run_dir)["status"] == "completed"


def test_compose_run_gives_the_config_genlab_train_runs(run_cli):
    from omegaconf import OmegaConf

    from genlab.config.compose import compose_run

    overrides = ["experiment=gpt_shakespeare_cpu", "paths.data_dir=/data", "seed=7", "model.n_layer=3"]
    printed = run_cli("train", *overrides, "--cfg", "job")
    assert printed.exit_code == 0, printed.stderr
    cfg = compose_run(overrides)
    assert OmegaConf.to_yaml(cfg) == printed.stdout
    assert (cfg.model.n_layer, cfg.model.block_size, cfg.data.path) == (3, 64, "/data/tinyshakespeare/input.txt")


@pytest.mark.parametrize("group, package", [("model", "genlab.models"), ("data", "genlab.data")])
def test_conf_mirrors_src_each_option_builds_the_module_of_its_name_or_presets_one(group, package):
    """model=X builds a class of genlab.models.X; a data option without a `_target_` is a preset (its `defaults:`
    name the option it sets up, e.g. shakespeare: text with the shared file)."""
    import yaml

    for option in options(group):
        config = yaml.safe_load((CONF / group / f"{option}.yaml").read_text())
        target = config.get("_target_")
        if target is None and group == "data":
            assert set(config["defaults"]) & set(options(group)), f"data={option} neither builds nor presets"
            continue
        assert target and target.rpartition(".")[0] == f"{package}.{option}", f"{group}={option} builds {target}"
        assert (REPO / "src" / package.replace(".", "/") / f"{option}.py").is_file()
