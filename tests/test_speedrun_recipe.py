"""The wall-clock speedrun recipe: a run bounded by trainer.max_time stops on time, validates once at the end, and
its learning rate has decayed to the floor by then (the schedule runs over the time budget, not over steps)."""
import torch

from conftest import run_dirs
from helpers.text_runs import metric_column


def test_speedrun_recipe_on_a_time_budget_decays_its_rate_by_the_end_and_validates_once(run_cli, output_dir, text_file):
    # model.compile=false: compiling would spend the 6 s budget (test_language_model compiles a GPT)
    args = ["experiment=gpt_shakespeare_speedrun", "data=text", f"data.path={text_file}", "data.block_size=32",
            "data.batch_size=8", "model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.warmup_steps=2",
            "trainer.max_time=00:00:00:06", "callbacks.rich_progress_bar=null", "callbacks.sample_logger.num_samples=1",
            "model.sample_tokens=20", "model.compile=false"]
    result = run_cli("train", *args)
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    steps = [int(step) for step in metric_column(run_dir, "step")]
    assert len(metric_column(run_dir, "val/loss")) == 1 and metric_column(run_dir, "val/loss")[0] < 4.0
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] >= 20 and max(steps) <= checkpoint["global_step"]  # stopped by the clock
    scheduler = checkpoint["lr_schedulers"][0]
    peaks, last = scheduler["base_lrs"], scheduler["_last_lr"]
    assert peaks == [0.015, 2e-3, 2e-3]  # Muon's rate, then AdamW's two groups
    assert all(rate < 0.35 * peak for rate, peak in zip(last, peaks))  # decayed: a step schedule would sit at the peak
