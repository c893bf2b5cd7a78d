"""Shared fixtures: isolated output dirs, and running genlab's real CLI in-process or as a subprocess."""
import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.text_runs import TEXT

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENLAB_DATA_DIR", REPO.parent / "shared" / "data"))
FAST = ["trainer.max_epochs=2", "trainer.limit_train_batches=4", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2", "trainer.log_every_n_steps=1", "callbacks.rich_progress_bar=null", "metrics.num_samples=200"]


NOT_WATCHED = {".git", ".venv", "__pycache__", ".pytest_cache"}  # written by git, pip and Python, not by genlab


def repo_files() -> set[str]:
    """Every file of the checkout (relative paths), outside NOT_WATCHED."""
    files = set()
    for directory, subdirs, names in os.walk(REPO):
        subdirs[:] = [name for name in subdirs if name not in NOT_WATCHED and not name.endswith(".egg-info")]
        files.update(os.path.relpath(os.path.join(directory, name), REPO) for name in names)
    return files


@pytest.fixture(autouse=True)
def writes_only_in_tmp_dirs():
    """Fails a test that wrote a file into the checkout (e.g. a run into the user's own outputs/): tests write only
    under their tmp dirs."""
    before = repo_files()
    yield
    written = sorted(repo_files() - before)
    assert not written, f"the test wrote into the checkout {REPO}: {written[:5]}"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One cache for the session: the FID feature net is trained once, then reused by every run."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def output_dir(tmp_path, monkeypatch, cache_dir) -> Path:
    """Every run of the test writes under a fresh directory (GENLAB_OUTPUT_DIR), sharing the session cache."""
    out = tmp_path / "outputs"
    monkeypatch.setenv("GENLAB_OUTPUT_DIR", str(out))
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(cache_dir))
    return out


@pytest.fixture
def run_cli(capsys, monkeypatch, output_dir):
    """Run `genlab-{train,eval,sample} args...` in this process, as the console script would."""

    def run(command: str, *args: str) -> CliResult:
        from hydra.core.hydra_config import HydraConfig

        from genlab import eval as eval_app, export as export_app, sample as sample_app, train as train_app

        main = {"train": train_app.main, "eval": eval_app.main, "sample": sample_app.main, "export": export_app.main}[command]
        monkeypatch.setattr(sys, "argv", [f"genlab-{command}", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            HydraConfig.instance().cfg = None  # a rejected run can leave its job's config set for the next test
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_subprocess(command: str, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a genlab console script in a fresh interpreter (for signals, imports, exit codes)."""
    return subprocess.run(
        [sys.executable, "-m", f"genlab.{command}", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO,
    )


def compare(capsys, *args) -> tuple[int, str, str]:
    """Run genlab-compare's real entry point in-process: (exit code, stdout, stderr)."""
    from genlab.compare.cli import main

    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_run_ids(out: str) -> set[str]:
    """The first cell of each row of genlab-compare's printed table."""
    return {line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")}


def eval_reports(run_dir: Path) -> set[Path]:
    """The eval_metrics.json files genlab-eval has written into a run dir (a shared run may hold other tests')."""
    return set(run_dir.glob("evals/*/eval_metrics.json"))


def run_dirs(output_dir: Path, task_name: str = "dcgan_digits") -> list[Path]:
    """Run dirs of a task, oldest first."""
    return sorted((output_dir / task_name / "runs").glob("*_*"))


def is_wandb_run_dir_of(path: Path, run_id: str) -> bool:
    """`offline-run-<time>-<run_id>`, or with wandb's `-<n>` suffix when a second run of that id starts in the same
    second (a fast resume)."""
    return re.fullmatch(rf"offline-run-\d{{8}}_\d{{6}}-{re.escape(run_id)}(-\d+)?", path.name) is not None


def is_plain(value) -> bool:
    """True when `value` is built only from str/int/float/bool/None, lists and str-keyed dicts."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def read_run_info(run_dir: Path) -> dict:
    return json.loads((run_dir / "run_info.json").read_text())


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, cache_dir) -> Path:
    """One short dcgan_digits run shared by the eval/sample/load tests (trained in a subprocess)."""
    out = tmp_path_factory.mktemp("trained") / "outputs"
    result = run_subprocess("train", *FAST, env={"GENLAB_OUTPUT_DIR": str(out), "GENLAB_CACHE_DIR": str(cache_dir)})
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(out)
    return run_dir


def train_in_process(*args: str) -> None:
    """genlab-train in this process, for fixtures shared by a module (run_cli is per test)."""
    from genlab import train as train_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["genlab-train", *args])
        try:
            train_app.main()
        except SystemExit as exit_:
            assert not exit_.code, f"fixture run failed: {args}"


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "play.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP server over a temp dir; yields (base_url, served_dir)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
