"""Train samplers with one order per (seed, epoch) that a resumed run can enter part-way; metrics.csv continuation."""
import csv

from genlab.data.epoch_samplers import RandomWindowSampler, ResumableTrainOrder, ShuffleSampler
from genlab.loggers.run_csv import RunCSVLogger


def one_pass(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_shuffle_sampler_is_a_permutation_fixed_by_seed_and_epoch_and_new_each_epoch():
    sampler = ShuffleSampler(50, seed=3)
    first = one_pass(sampler, 0)
    assert sorted(first) == list(range(50)) and len(sampler) == 50
    assert one_pass(ShuffleSampler(50, seed=3), 0) == first
    assert one_pass(sampler, 1) != first and one_pass(ShuffleSampler(50, seed=4), 0) != first


def test_start_at_skips_the_trained_draws_of_that_epoch_once_and_leaves_other_epochs_whole():
    full = {epoch: one_pass(RandomWindowSampler(1000, 40, seed=1), epoch) for epoch in (2, 3)}
    sampler = RandomWindowSampler(1000, 40, seed=1)
    sampler.start_at(2, 16)
    assert one_pass(sampler, 2) == full[2][16:]
    assert one_pass(sampler, 2) == full[2]  # only the first pass is shortened
    sampler.start_at(2, 16)
    assert one_pass(sampler, 3) == full[3]  # the position belongs to epoch 2 only


def test_datamodule_position_makes_its_sampler_skip_batches_times_batch_size_times_ranks():
    datamodule = ResumableTrainOrder()
    assert datamodule.state_dict() == {}  # not fitting: nothing to record
    datamodule.load_state_dict({"epoch": 0, "batches": 3, "world_size": 2})
    sampler = datamodule.resume_sampler(ShuffleSampler(100, seed=0), batch_size=5)
    assert one_pass(sampler, 0) == one_pass(ShuffleSampler(100, seed=0), 0)[30:]
    assert datamodule.resume_sampler(ShuffleSampler(100, seed=0), 5)._start is None  # used once


def write_metrics(path, steps):
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "loss", "step"])
        writer.writeheader()
        writer.writerows({"epoch": 0, "loss": 1.0 / (step + 1), "step": step} for step in steps)


def test_resumed_csv_logger_drops_rows_logged_after_the_checkpoint_then_appends(tmp_path):
    write_metrics(tmp_path / "metrics.csv", range(6))  # the crashed run got to step 5; its checkpoint was at step 3
    logger = RunCSVLogger(str(tmp_path), resumed=True)
    logger.log_metrics({"loss": 0.5, "epoch": 0}, step=3)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [row["step"] for row in rows] == ["0", "1", "2", "3"] and rows[-1]["loss"] == "0.5"


def test_fresh_csv_logger_on_an_existing_file_keeps_every_row(tmp_path):
    write_metrics(tmp_path / "metrics.csv", range(3))
    RunCSVLogger(str(tmp_path)).log_metrics({"loss": 0.5, "epoch": 1, "new/column": 2.0}, step=1)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [row["step"] for row in rows] == ["0", "1", "2", "1"] and rows[-1]["new/column"] == "2.0"
