"""Real 2-process DDP (gloo): metrics do not depend on the number of devices; DDP jobs of a multirun keep their ranks."""
import json

import pytest

from conftest import read_run_info, run_subprocess
from genlab.runs.multirun_summary import read_summary

FEW = ["trainer.max_epochs=1", "trainer.limit_train_batches=4", "trainer.limit_val_batches=2",
       "trainer.limit_test_batches=2", "metrics.num_samples=300", "metrics.at_start=false",
       "callbacks.model_checkpoint.monitor=null"]


def test_fid_kid_is_from_two_ranks_equal_one_process_on_the_same_checkpoint(output_dir):
    result = run_subprocess("train", "trainer=ddp_cpu", *FEW, env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (output_dir / "dcgan_digits" / "runs").iterdir()
    two_ranks = read_run_info(run_dir)["final_metrics"]
    assert len(list((run_dir / "samples").glob("epoch_*.png"))) == 1  # written once, by rank 0
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    result = run_subprocess("eval", f"ckpt_path={checkpoint}", "trainer=cpu", "trainer.limit_test_batches=2",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = run_dir.glob("evals/*/eval_metrics.json")
    one_process = json.loads(report.read_text())["metrics"]
    for key in ("test/fid", "test/is_mean", "test/class_min_frac", "test/class_max_frac"):
        assert one_process[key] == pytest.approx(two_ranks[key], rel=1e-3, abs=1e-4), key
    # KID averages random subsets (seeded); gathered from 2 ranks the features come in another order, so the subsets
    # hold other images: the same estimator, not the same draws.
    assert one_process["test/kid_mean"] == pytest.approx(two_ranks["test/kid_mean"], rel=1e-2)


def test_gpt_val_loss_from_two_ranks_equals_one_process_each_window_counted_once(output_dir, tmp_path):
    from helpers.text_runs import TEXT

    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    data = ["data=text", f"data.path={text_file}", "data.block_size=32", "data.batch_size=4"]  # 19 val windows: odd
    result = run_subprocess("train", "trainer=ddp_cpu", *data, "model=gpt", "model.n_layer=1", "model.n_head=2",
                            "model.n_embd=16", "trainer.max_steps=4", "trainer.max_epochs=-1",
                            "data.train_batches_per_epoch=4", "test=false",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (output_dir / "gpt_text" / "runs").iterdir()
    two_ranks = read_run_info(run_dir)["final_metrics"]
    result = run_subprocess("eval", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}", "trainer=cpu",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = run_dir.glob("evals/*/eval_metrics.json")
    one_process = json.loads(report.read_text())["metrics"]
    for key in ("val/loss", "val/bpc"):
        assert one_process[key] == pytest.approx(two_ranks[key], rel=1e-5), key


def test_ddp_jobs_of_a_multirun_keep_their_ranks_in_one_run_dir_with_one_logger_run_and_one_row(output_dir):
    result = run_subprocess("train", "-m", "trainer=ddp_cpu", "model.lr=1e-4,2e-4",
                            "trainer.max_steps=4", "trainer.limit_val_batches=1", "test=false", "logger=tensorboard",
                            "metrics.feature_net=null",
                            env={"GENLAB_OUTPUT_DIR": str(output_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in output_dir.iterdir()] == ["dcgan_digits"]  # no stray sweep or run dirs of rank 1
    (sweep_dir,) = (output_dir / "dcgan_digits" / "multiruns").iterdir()
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1"]
    rows = read_summary(sweep_dir)
    assert [(row["job_num"], row["status"]) for row in rows] == [(0, "completed"), (1, "completed")]
    for row in rows:
        job_dir = sweep_dir / str(row["job_num"])
        assert read_run_info(job_dir)["run_id"] == row["run_id"]
        assert (job_dir / "train_ddp_process_1.log").is_file()  # rank 1 ran this job, in this job's dir
        events = list(job_dir.glob("tensorboard/**/events.out.tfevents.*"))
        assert events and len({path.parent for path in events}) == 1  # one logger run, written by rank 0
