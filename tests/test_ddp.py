"""Real 2-process DDP (gloo): sample-quality metrics do not depend on the number of devices."""
import json

import pytest

from conftest import read_run_info, run_subprocess

FEW = ["trainer.max_epochs=1", "trainer.limit_train_batches=4", "trainer.limit_val_batches=2",
       "trainer.limit_test_batches=2", "metrics.num_samples=300", "metrics.at_start=false",
       "callbacks.rich_progress_bar=null", "callbacks.model_checkpoint.monitor=null"]


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
    for key in ("test/fid", "test/kid_mean", "test/is_mean", "test/class_min_frac", "test/class_max_frac"):
        assert one_process[key] == pytest.approx(two_ranks[key], rel=1e-3, abs=1e-4), key
