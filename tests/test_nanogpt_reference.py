"""scripts/nanogpt_reference.py: nanoGPT's loop around genlab's GPT, deterministic per seed, and the val/loss it
prints beside nanoGPT's estimate is genlab's own validation of the same network."""
import importlib.util
import math
import re
import subprocess
import sys

import pytest
from hydra.utils import instantiate
from lightning.pytorch import Trainer

from conftest import REPO
from genlab.config.compose import compose_run
from genlab.models.build import instantiate_model
from helpers.text_runs import TEXT

SCRIPT = REPO / "scripts" / "nanogpt_reference.py"
FAST_EVALS = ["--eval-interval", "60", "--eval-batches", "4"]
SMALL = ["data.block_size=16", "data.batch_size=4", "model.n_layer=1", "model.n_head=2", "model.n_embd=32"]


def small_recipe(tmp_path, steps: int) -> list[str]:
    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    return [f"data.path={text_file}", *SMALL, f"trainer.max_steps={steps}", f"model.lr_decay_steps={steps}"]


def eval_lines(output: str, seed: int) -> list[tuple[float, float, float]]:
    """(nanoGPT train estimate, nanoGPT val estimate, genlab val/loss) at each eval of one seed's run."""
    section = output.split(f"seed {seed}:")[1].split("median")[0]
    return [tuple(map(float, found)) for found in re.findall(
        r"nanoGPT train ([0-9.]+), val ([0-9.]+); genlab val/loss \(whole split\) ([0-9.]+)", section)]


def test_script_trains_the_recipe_deterministically_per_seed_and_prints_both_val_losses(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "5", "6", *FAST_EVALS, "--cache-dir", str(tmp_path / "cache"),
         *small_recipe(tmp_path, 60), "model.warmup_steps=5", "model.lr=1e-2"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = eval_lines(result.stdout, 5), eval_lines(result.stdout, 6)
    assert len(first) == len(second) == 2  # step 0 and step 60
    vocab = len(set(TEXT))
    assert first[0][2] == pytest.approx(math.log(vocab), abs=0.1)  # GPT-2 init: near-uniform logits
    assert all(after < before / 2 for before, after in zip(first[0], first[1]))  # trained: every loss fell
    assert first != second  # another seed, other weights and batches
    again = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "5", *FAST_EVALS, "--cache-dir", str(tmp_path / "cache"),
         *small_recipe(tmp_path, 60), "model.warmup_steps=5", "model.lr=1e-2"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert eval_lines(again.stdout, 5) == first  # nanoGPT's loop is deterministic per seed
    assert re.search(r"step 60, seeds 5, 6: nanoGPT's 4-batch val estimate .* genlab val/loss of the same models",
                     result.stdout)


def test_printed_val_loss_is_genlab_validation_of_the_same_network(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as `python scripts/nanogpt_reference.py` puts it on sys.path
    spec = importlib.util.spec_from_file_location("nanogpt_reference", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    cfg = compose_run(["experiment=gpt_shakespeare_cpu", f"paths.cache_dir={tmp_path / 'cache'}",
                       *small_recipe(tmp_path, 30), "model.warmup_steps=2", "model.lr=1e-2"])
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    loop = script.NanoGPTLoop(cfg, datamodule, seed=3)
    untrained = loop.whole_val_split()
    loop.run()
    module = instantiate_model(cfg.model)
    module.vocab_size, module.network = datamodule.vocab_size, loop.network
    trainer = Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False)
    (metrics,) = trainer.validate(module, datamodule=datamodule, verbose=False)
    assert metrics["val/loss"] == pytest.approx(loop.whole_val_split(), abs=1e-5)
    assert metrics["val/loss"] < untrained - 0.5  # 30 steps trained it
