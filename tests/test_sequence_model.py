"""The language models' numbers are those of the LanguageModel before it was split into a token-sequence base and a
text layer: the same 20-step GPT (with dropout) and LSTM runs on the small play give the same train/val losses and
bits per character, to 1e-6. The values were logged by genlab 25a1b4d (the last commit of the single LanguageModel)
with the arguments below, on this CPU with torch 2.13."""
import csv

import pytest

from conftest import run_dirs
from helpers.text_runs import MODELS, TEXT

BEFORE_THE_SPLIT = {
    "gpt": {
        "train/loss": [
            3.550863265991211, 3.411555051803589, 3.3434693813323975, 3.2218196392059326, 3.0626444816589355,
            2.9100747108459473, 2.7845232486724854, 2.7153947353363037, 2.615285634994507, 2.5059993267059326,
            2.4475107192993164, 2.3640873432159424, 2.2902512550354004, 2.2302653789520264, 2.227616786956787,
            2.174785852432251, 2.129915714263916, 2.129664897918701, 2.154522180557251, 2.110558271408081,
        ],
        "val/loss": [2.398085117340088, 2.0218474864959717],
        "val/bpc": [3.459705352783203, 2.9169094562530518],
    },
    "lstm": {
        "train/loss": [
            3.5416650772094727, 3.490922212600708, 3.3975110054016113, 3.2588565349578857, 3.1286933422088623,
            2.8984992504119873, 2.7761409282684326, 2.6043355464935303, 2.447108268737793, 2.309795379638672,
            2.2413601875305176, 2.1306874752044678, 1.9731541872024536, 1.898514747619629, 1.9138209819793701,
            1.8944085836410522, 1.7670073509216309, 1.8047974109649658, 1.920243740081787, 1.6858978271484375,
        ],
        "val/loss": [2.2158167362213135, 1.7294771671295166],
        "val/bpc": [3.1967477798461914, 2.495108127593994],
    },
}


def run_args(text_file, model: str) -> list[str]:
    return ["data=text", f"data.path={text_file}", "data.block_size=32", "data.batch_size=8",
            "data.train_batches_per_epoch=10", *MODELS[model], *(["model.dropout=0.1"] if model == "gpt" else []),
            "model.lr=1e-2", "model.min_lr=1e-3", "model.warmup_steps=2", "model.sample_tokens=8",
            "trainer.max_steps=20", "trainer.max_epochs=-1", "trainer.log_every_n_steps=1",
            "trainer.gradient_clip_val=1.0", "callbacks.rich_progress_bar=null", "callbacks.model_summary=null",
            "test=false", "metrics=none", f"task_name=golden_{model}"]


@pytest.mark.parametrize("model", ["gpt", "lstm"])
def test_language_models_keep_their_numbers_through_the_sequence_model_base(run_cli, output_dir, tmp_path, model):
    text_file = tmp_path / "play.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    assert run_cli("train", *run_args(text_file, model)).exit_code == 0
    (run_dir,) = run_dirs(output_dir, f"golden_{model}")
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    for key, expected in BEFORE_THE_SPLIT[model].items():
        assert [float(row[key]) for row in rows if row.get(key)] == pytest.approx(expected, abs=1e-6), key
