"""Cluster submission: `hydra/launcher=slurm` on a real one-node SLURM cluster (scripts/start_slurm.sh), Lightning's
requeue on USR1 continuing the same run, and `hydra/launcher=submitit_local` taking the same launcher path."""
import csv
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from conftest import REPO, read_run_info, run_subprocess
from genlab.runs.multirun_summary import read_summary
from genlab.runs.slurm import AUTO_REQUEUE_ENV, continuation_overrides, slurm_environment
from hydra_plugins.genlab_launcher.genlab_launcher import LocalLauncher, SlurmLauncher

pytestmark = pytest.mark.slurm

TASK = "slurm_test"  # the sweep dir is <output_dir>/<task_name>/multiruns/<timestamp>_<id>
TINY = [f"task_name={TASK}", "metrics=none", "test=false", "trainer.limit_val_batches=1",
        "trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null"]
# The local cluster: partition debug, 2 CPUs, no GPUs. One CPU and 2 GB per job let two jobs run at once.
ON_LOCAL_CLUSTER = ["hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.gpus_per_node=null",
                    "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=2"]
SWEEP_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def slurm_cluster():
    """The local cluster, started (idempotently) for the tests and stopped again if the tests started it
    (scripts/slurm_for_tests.sh); skip where it can't start, unless GENLAB_REQUIRE_SLURM=1 (`make test` as root),
    where that is a failure."""
    script = str(REPO / "scripts" / "slurm_for_tests.sh")
    try:
        started = subprocess.run(["bash", script, "start"], capture_output=True, text=True, timeout=600)
        reason = started.stderr.strip() or f"exit code {started.returncode}"
    except subprocess.TimeoutExpired:
        started, reason = None, "scripts/start_slurm.sh took over 10 minutes"
    if started is None or started.returncode != 0:
        message = f"local SLURM cluster unavailable: {reason}"
        if os.environ.get("GENLAB_REQUIRE_SLURM") == "1":
            pytest.fail(f"{message} (GENLAB_REQUIRE_SLURM=1)")
        pytest.skip(message)
    yield
    subprocess.run(["bash", script, "stop"], capture_output=True, timeout=120)


def sweep_dir_of(output_dir: Path) -> Path:
    (sweep_dir,) = (output_dir / TASK / "multiruns").iterdir()
    return sweep_dir


def submitted_job_ids(output_dir: Path) -> list[str]:
    """SLURM ids of the jobs a sweep submitted: submitit names a folder after each (`<id>` or `<array>_<task>`)."""
    return [p.name for p in output_dir.glob(f"{TASK}/multiruns/*/.submitit/*") if re.fullmatch(r"[\d_]+", p.name)]


@contextmanager
def cancelling_jobs_on_failure(output_dir: Path):
    """A failed or timed-out test leaves no job of its sweep on the cluster (a passing one has none left)."""
    try:
        yield
    except BaseException:
        for job_id in submitted_job_ids(output_dir):
            subprocess.run(["scancel", job_id], capture_output=True)
        raise


def squeue_state(job_id: str) -> str:
    """`STATE REASON` of a queued or running job; empty once SLURM has forgotten it."""
    return subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"], capture_output=True, text=True).stdout.strip()


def wait_until(predicate, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.2)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


def job_log(sweep_dir: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(sweep_dir.glob(".submitit/*/*_log.err")))


def logged_train_steps(run_dir: Path) -> list[int]:
    return [int(row["step"]) for row in csv.DictReader(open(run_dir / "metrics.csv")) if row.get("train/g_loss")]


def test_slurm_multirun_submits_one_array_job_per_sweep_and_each_job_completes_in_the_multirun_dir(
        slurm_cluster, output_dir):
    with cancelling_jobs_on_failure(output_dir):
        result = run_subprocess("train", "-m", *ON_LOCAL_CLUSTER, *TINY, "trainer.max_steps=3", "seed=1,2",
                                timeout=SWEEP_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir)
    infos = [read_run_info(sweep_dir / str(job_num)) for job_num in (0, 1)]
    assert [info["status"] for info in infos] == ["completed", "completed"]
    assert [info["run_dir"] for info in infos] == [str(sweep_dir / "0"), str(sweep_dir / "1")]
    assert infos[0]["run_id"] != infos[1]["run_id"] and infos[0]["resumed_times"] == infos[1]["resumed_times"] == []
    (script,) = sweep_dir.glob(".submitit/*/*_submission.sh")
    sbatch = set(re.findall(r"#SBATCH (\S+)", script.read_text()))
    assert {"--array=0-1%2", "--partition=debug", "--ntasks-per-node=1", "--nodes=1", "--signal=USR1@120",
            f"--job-name={TASK}"} <= sbatch
    assert job_log(sweep_dir).count("SLURM auto-requeueing enabled") == 2  # Lightning's SLURMEnvironment in each job


def test_usr1_makes_lightning_requeue_the_job_which_resumes_its_own_run_to_the_exact_final_step(
        slurm_cluster, output_dir):
    steps = 100  # a checkpoint after every step: the first appears at step 1, long before the run could end
    process = subprocess.Popen(
        [sys.executable, "-m", "genlab.train", "-m", *ON_LOCAL_CLUSTER, *TINY, f"trainer.max_steps={steps}",
         "callbacks.model_checkpoint.every_n_train_steps=1", "callbacks.model_checkpoint.every_n_epochs=null",
         "seed=1"],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    with cancelling_jobs_on_failure(output_dir):
        try:
            last_ckpt = wait_until(lambda: next(output_dir.glob(f"{TASK}/multiruns/*/0/checkpoints/last.ckpt"), None),
                                   "the job's first checkpoint")
            run_dir = last_ckpt.parent.parent
            first = read_run_info(run_dir)
            (job_id,) = submitted_job_ids(output_dir)
            subprocess.run(["scancel", "--signal=USR1", job_id], check=True)  # what sbatch --signal=USR1@N sends
            wait_until(lambda: squeue_state(job_id).startswith("PENDING"), "the requeued job to be pending")
            # SLURM holds a requeued job ~2 min (BeginTime); release it now
            subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)
            _, stderr = process.communicate(timeout=SWEEP_TIMEOUT_S)
        finally:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert [p.name for p in run_dir.parent.iterdir() if not p.name.startswith(".") and p.is_dir()] == ["0"]
    info = read_run_info(run_dir)
    assert info["run_id"] == first["run_id"] and info["start_time"] == first["start_time"]
    assert info["status"] == "completed" and len(info["resumed_times"]) == 1
    assert "Restarts=1 " in subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True).stdout
    assert (run_dir / "hpc_ckpt_1.ckpt").is_file()  # Lightning's handler took the signal (submitit's listens on USR2)
    log = job_log(run_dir.parent)
    assert "Handling auto-requeue signal" in log and f"Restored all states from the checkpoint at {run_dir}" in log
    assert logged_train_steps(run_dir) == list(range(steps))  # no step repeated or skipped across the requeue


def test_submitit_local_multirun_runs_two_jobs_through_the_same_launcher(output_dir):
    result = run_subprocess("train", "-m", "hydra/launcher=submitit_local", *TINY, "trainer.max_steps=3", "seed=1,2",
                            timeout=SWEEP_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir)
    infos = [read_run_info(sweep_dir / str(job_num)) for job_num in (0, 1)]
    assert [info["status"] for info in infos] == ["completed", "completed"]
    assert infos[0]["pid"] != infos[1]["pid"] != os.getpid()  # each job in a process of its own
    assert len(list(sweep_dir.glob(".submitit/*/*_result.pkl"))) == 2


@pytest.mark.filterwarnings("ignore:The .srun. command is available")  # Lightning, for the interactive job
def test_lightning_requeues_only_jobs_of_the_slurm_launcher_and_submitit_never_does(monkeypatch):
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_JOB_NAME", "genlab")
    monkeypatch.delenv(AUTO_REQUEUE_ENV, raising=False)
    (environment,) = slurm_environment()
    assert not environment.auto_requeue  # e.g. your own sbatch script: a requeue could not find its run
    monkeypatch.setenv(AUTO_REQUEUE_ENV, "1")
    (environment,) = slurm_environment()
    assert environment.auto_requeue and environment.requeue_signal == signal.SIGUSR1
    monkeypatch.setenv("SLURM_JOB_NAME", "interactive")
    assert slurm_environment() == []
    assert SlurmLauncher().checkpoint() is None and LocalLauncher().checkpoint() is None


def parsed(overrides: list[str]) -> dict:
    """The overrides as Hydra reads them (an unquoted 291249e4 would be the float 2912490000.0)."""
    return {override.key_or_group: override.value() for override in OverridesParser.create().parse_overrides(overrides)}


def test_a_job_that_already_ran_in_its_dir_continues_its_run_id_from_its_newest_checkpoint(tmp_path):
    run_dir = tmp_path / "sweep, with odd=chars" / "0"
    assert continuation_overrides(run_dir) == []
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "run_info.json").write_text('{"run_id": "291249e4"}')
    assert parsed(continuation_overrides(run_dir)) == {"run_id": "291249e4"}  # stopped before its first checkpoint
    for age, name in enumerate(["hpc_ckpt_1.ckpt", "checkpoints/last.ckpt", "checkpoints/best.ckpt"]):
        (run_dir / name).write_bytes(b"")
        os.utime(run_dir / name, (1_000_000 - age, 1_000_000 - age))
    newest = str(run_dir / "hpc_ckpt_1.ckpt")
    assert parsed(continuation_overrides(run_dir)) == {"run_id": "291249e4", "ckpt_path": newest}
    os.utime(run_dir / "checkpoints/last.ckpt", (2_000_000, 2_000_000))
    assert parsed(continuation_overrides(run_dir))["ckpt_path"] == str(run_dir / "checkpoints/last.ckpt")


def test_slurm_multirun_of_ddp_jobs_runs_two_tasks_per_job_into_one_run_dir_and_one_row_each(slurm_cluster, output_dir):
    # 2 jobs x 2 tasks (gloo ranks) x 1 CPU: the 2-CPU node runs one job at a time.
    with cancelling_jobs_on_failure(output_dir):
        result = run_subprocess("train", "-m", *ON_LOCAL_CLUSTER, *TINY, "trainer=ddp_cpu", "trainer.max_steps=3",
                                "seed=1,2", timeout=SWEEP_TIMEOUT_S)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = sweep_dir_of(output_dir)
    (script,) = sweep_dir.glob(".submitit/*/*_submission.sh")
    assert "--ntasks-per-node=2" in script.read_text()
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) == ["0", "1"]
    rows = read_summary(sweep_dir)
    assert [(row["job_num"], row["status"]) for row in rows] == [(0, "completed"), (1, "completed")]
    log = job_log(sweep_dir)
    assert log.count("GLOBAL_RANK: 1, MEMBER: 2/2") == 2  # each job's second rank joined its DDP group
    for row in rows:
        info = read_run_info(Path(row["run_dir"]))
        assert info["status"] == "completed" and info["run_id"] == row["run_id"]
        assert logged_train_steps(Path(row["run_dir"])) == [0, 1, 2]  # rank 0 alone logs, once per step
