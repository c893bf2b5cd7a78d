"""Language models end to end: short GPT/LSTM/GRU/RNN runs, loss/ppl/bpc, text samples, checkpoints, sample and eval."""
import json
import math

import pytest
import torch

from conftest import run_dirs
from helpers.text_runs import MODELS, TEXT, lm_args, metric_column



@pytest.mark.parametrize("model", list(MODELS))
def test_twenty_step_run_lowers_the_loss_and_logs_ppl_bpc_tokens_per_second_and_text_samples(
        run_cli, output_dir, text_file, model):
    result = run_cli("train", *lm_args(text_file, model))
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, f"{MODELS[model][0].split('=')[1]}_text")
    train_loss = metric_column(run_dir, "train/loss")
    assert len(train_loss) == 20 and train_loss[-1] < 0.8 * train_loss[0]
    val_loss, val_ppl, val_bpc = (metric_column(run_dir, f"val/{key}") for key in ("loss", "ppl", "bpc"))
    assert len(val_loss) == 2 and val_loss[1] < val_loss[0]
    assert val_ppl[-1] == pytest.approx(math.exp(val_loss[-1]), rel=1e-4)
    assert val_bpc[-1] == pytest.approx(val_loss[-1] / math.log(2), rel=1e-4)  # char tokens: one char each
    assert metric_column(run_dir, "train/device/items_per_sec")  # tokens/s from the throughput monitor
    samples = sorted((run_dir / "samples").glob("step_*.txt"))
    assert [path.name for path in samples] == ["step_000010.txt", "step_000020.txt"]
    assert samples[-1].read_text().startswith("\n")  # the default prompt
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.fixture
def trained_gpt(run_cli, output_dir, text_file):
    result = run_cli("train", *lm_args(text_file, "gpt"))
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    return run_dir / "checkpoints" / "last.ckpt"


def test_checkpoint_alone_samples_text_and_streams_exactly_what_it_returns(trained_gpt, tmp_path):
    import genlab

    text_file_gone = tmp_path / "play.txt"
    text_file_gone.unlink()  # the tokenizer travels in the checkpoint
    model = genlab.load(trained_gpt)
    assert model.genlab_config["model"]["vocab_size"] == len(set(TEXT))
    pieces = []
    texts = model.generate("ROMEO:", max_new_tokens=30, top_p=0.95, num_samples=2, seed=7,
                           on_text=lambda index, piece: pieces.append((index, piece)))
    assert len(texts) == 2 and all(text.startswith("ROMEO:") and len(text) == 36 for text in texts)
    assert "".join(piece for index, piece in pieces if index == 0) == texts[0][len("ROMEO:"):]
    assert model.generate("ROMEO:", max_new_tokens=30, top_p=0.95, num_samples=2, seed=7) == texts


def test_genlab_sample_streams_text_to_stdout_and_writes_samples_txt(run_cli, trained_gpt):
    result = run_cli("sample", f"ckpt_path={trained_gpt}", "prompt=JULIET:", "max_new_tokens=25", "num_samples=2",
                     "temperature=0.5", "top_k=5", "seed=3")
    assert result.exit_code == 0, result.stderr
    (path,) = trained_gpt.parent.parent.glob("generated/*/samples.txt")
    texts = path.read_text().split("\n" + "-" * 40 + "\n")
    assert len(texts) == 2 and all(text.startswith("JULIET:") for text in texts)
    assert texts[0] in result.stdout and "--- sample 2 ---" in result.stdout


def test_genlab_eval_on_text_without_test_split_says_it_evaluates_validation(run_cli, trained_gpt):
    result = run_cli("eval", f"ckpt_path={trained_gpt}")
    assert result.exit_code == 0, result.stderr
    assert "no test split" in result.stdout
    (path,) = trained_gpt.parent.parent.glob("evals/*/eval_metrics.json")
    report = json.loads(path.read_text())
    assert report["split"] == "val" and report["metrics"]["val/loss"] > 0


def test_bpe_bits_per_char_match_nats_over_an_independent_character_count(run_cli, output_dir, text_file):
    import genlab
    from genlab.data.text import TextDataModule

    args = lm_args(text_file, "gpt", "data.tokenizer=bpe", "data.vocab_size=300")
    assert run_cli("train", *args).exit_code == 0
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    model = genlab.load(run_dir / "checkpoints" / "last.ckpt")
    datamodule = TextDataModule(str(text_file), tokenizer="bpe", vocab_size=300, block_size=32, batch_size=8,
                                cache_dir=str(output_dir / ".cache"))
    datamodule.setup("validate")
    nats, characters, tokens = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in datamodule.val_dataloader():
            logits = model(inputs)
            nats += float(torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum"))
            characters += sum(len(datamodule.tokenizer.decode(row.tolist())) for row in targets)  # ASCII text
            tokens += targets.numel()
    result = run_cli("eval", f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}")
    assert result.exit_code == 0, result.stderr
    (path,) = run_dir.glob("evals/*/eval_metrics.json")
    bpc = json.loads(path.read_text())["metrics"]["val/bpc"]
    assert characters > tokens  # BPE tokens hold several characters, so bpc != loss / ln 2
    assert bpc == pytest.approx(nats / characters / math.log(2), rel=1e-4)


def test_weight_decay_applies_to_matrices_only_and_tied_weights_count_once():
    from genlab.models.optimizers import parameter_groups
    from genlab.networks.gpt import GPT

    network = GPT(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8, bias=True)
    decay, no_decay = parameter_groups(network, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"])
    embedding_ids = {id(m.weight) for m in network.modules() if isinstance(m, torch.nn.Embedding)}
    assert embedding_ids <= {id(p) for p in no_decay["params"]}
    everything = decay["params"] + no_decay["params"]
    assert len(everything) == len({id(p) for p in everything}) == len(list(network.parameters()))


@pytest.mark.parametrize("precision, fused", [("32-true", True), ("bf16-true", True), ("bf16-mixed", None),
                                              ("16-mixed", None)])
def test_adamw_uses_the_fused_kernel_on_cpu_except_under_mixed_precision_and_updates_like_the_loop(precision, fused):
    from genlab.models.optimizers import adamw, parameter_groups
    from genlab.networks.gpt import GPT

    torch.manual_seed(0)
    networks = [GPT(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8) for _ in range(2)]
    networks[1].load_state_dict(networks[0].state_dict())
    optimizers = [adamw(networks[0], 1e-2, (0.9, 0.99), 0.1, precision),  # the for-loop AdamW as reference
                  torch.optim.AdamW(parameter_groups(networks[1], 0.1), lr=1e-2, betas=(0.9, 0.99), foreach=False)]
    assert optimizers[0].defaults["fused"] is fused
    tokens = torch.randint(11, (4, 9))
    for network, optimizer in zip(networks, optimizers):
        for _ in range(3):
            torch.nn.functional.cross_entropy(network(tokens[:, :-1]).flatten(0, 1), tokens[:, 1:].flatten()).backward()
            optimizer.step()
            optimizer.zero_grad()
    for (name, updated), reference in zip(networks[0].named_parameters(), networks[1].parameters()):
        assert torch.allclose(updated, reference, atol=1e-5), name  # updates of 1e-2: equal up to rounding


def test_compile_networks_compiles_each_network_in_place_and_skips_metrics_and_ema():
    from genlab.callbacks.compile_networks import CompileNetworks, networks_of
    from genlab.models.dcgan import DCGAN

    model = DCGAN(image_size=16, latent_dim=8, g_width=8, d_width=8, ema_decay=0.9)
    assert [name for name, _ in networks_of(model)] == ["generator", "discriminator"]
    keys = list(model.state_dict())
    CompileNetworks().on_fit_start(None, model)
    assert model.generator._compiled_call_impl is not None and model.discriminator._compiled_call_impl is not None
    assert list(model.state_dict()) == keys


@pytest.mark.slow  # torch.compile's first call costs about a minute of CPU here
def test_compiled_gpt_trains_and_its_checkpoint_loads_into_an_uncompiled_model(run_cli, output_dir, text_file):
    import genlab

    result = run_cli("train", *lm_args(text_file, "gpt", "model.compile=true", "trainer.max_steps=3",
                                       "data.train_batches_per_epoch=3", "trainer.limit_val_batches=1"))
    assert result.exit_code == 0, result.stderr
    (run_dir,) = run_dirs(output_dir, "gpt_text")
    assert len(metric_column(run_dir, "train/loss")) == 3
    model = genlab.load(run_dir / "checkpoints" / "last.ckpt")  # no `_orig_mod.` prefixes in the state dict
    assert model.generate("ROMEO:", max_new_tokens=5, seed=0)[0].startswith("ROMEO:")
