"""Norm clipping folded into the fused AdamW step updates like clip_grad_norm_ + step, leaves the same clipped
gradients, and is what genlab-train's language models use; other optimizers and strategies clip as Lightning does."""
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Callback
from lightning.pytorch.strategies import SingleDeviceStrategy

from conftest import run_dirs
from genlab.models.fused_clipping import clip_in_fused_step
from genlab.models.optimizers import adamw
from genlab.networks.gpt import GPT
from helpers.text_runs import lm_args

SINGLE_DEVICE = SimpleNamespace(strategy=SingleDeviceStrategy(device=torch.device("cpu")))
SCALES_SEEN: list[tuple[float, float]] = []


def twin_gpts():
    torch.manual_seed(0)
    # No biases: the key projection's bias gets a gradient of only rounding noise, whose sign Adam turns into a
    # full-size step, so any rounding difference moves it by up to 2 lr.
    networks = [GPT(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16, bias=False) for _ in range(2)]
    networks[1].load_state_dict(networks[0].state_dict())
    return networks, [adamw(network, 1e-2, (0.9, 0.99), 0.1) for network in networks]


def backward(network, tokens, loss_scale: float) -> None:
    logits = network(tokens[:, :-1]).flatten(0, 1)
    (loss_scale * torch.nn.functional.cross_entropy(logits, tokens[:, 1:].flatten())).backward()


@pytest.mark.parametrize("loss_scale, clips", [(100.0, True), (1e-3, False)])
def test_clipping_in_the_fused_step_updates_like_clip_grad_norm_then_step(loss_scale, clips):
    (reference, fused), (reference_opt, fused_opt) = twin_gpts()
    tokens = torch.randint(11, (4, 9))
    for _ in range(3):
        for network in (reference, fused):
            network.zero_grad(set_to_none=True)
            backward(network, tokens, loss_scale)
        norm = torch.nn.utils.clip_grad_norm_(list(reference.parameters()), 1.0)
        reference_opt.step()
        assert clip_in_fused_step(SINGLE_DEVICE, fused_opt, 1.0, None)
        assert (float(fused_opt.grad_scale) > 1.0) == clips == (float(norm) > 1.0)
        fused_opt.step()
        for (name, clipped), expected in zip(fused.named_parameters(), reference.parameters()):
            assert torch.allclose(clipped.grad, expected.grad, atol=1e-6), name  # .grad is clipped too
            assert torch.allclose(clipped, expected, atol=1e-6), name
    if clips:
        assert float(torch.nn.utils.get_total_norm([p.grad for p in fused.parameters()])) == pytest.approx(1.0)


def test_other_optimizers_algorithms_and_strategies_are_left_to_lightning():
    (network, _), (fused_opt, _) = twin_gpts()
    backward(network, torch.randint(11, (4, 9)), 1.0)
    plain_opt = torch.optim.AdamW(network.parameters(), lr=1e-2)
    sharded = SimpleNamespace(strategy=object())  # e.g. FSDP: each rank holds a shard of the gradients
    assert not clip_in_fused_step(SINGLE_DEVICE, plain_opt, 1.0, "norm")
    assert not clip_in_fused_step(SINGLE_DEVICE, fused_opt, 1.0, "value")
    assert not clip_in_fused_step(SINGLE_DEVICE, fused_opt, None, "norm")
    assert not clip_in_fused_step(sharded, fused_opt, 1.0, "norm")
    assert not hasattr(plain_opt, "grad_scale") and not hasattr(fused_opt, "grad_scale")


class ClipProbe(Callback):
    """After each step: the scale the fused step divided by, and the total norm of the gradients it left."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        optimizer = trainer.optimizers[0]
        norm = torch.nn.utils.get_total_norm([p.grad for p in pl_module.parameters() if p.grad is not None])
        SCALES_SEEN.append((float(optimizer.grad_scale), float(norm)))


def test_genlab_train_language_models_clip_in_the_fused_step(run_cli, output_dir, text_file):  # noqa: F811
    SCALES_SEEN.clear()
    args = lm_args(text_file, "gpt", "trainer.gradient_clip_val=0.25",
                   "+callbacks.probe._target_=test_fused_clipping.ClipProbe")
    result = run_cli("train", *args)
    assert result.exit_code == 0, result.stderr
    assert len(SCALES_SEEN) == 20 and run_dirs(output_dir, "gpt_text")
    clipped = [norm for scale, norm in SCALES_SEEN if scale > 1.0]
    assert clipped and all(norm == pytest.approx(0.25, rel=1e-4) for norm in clipped)
    assert all(norm <= 0.25 * (1 + 1e-4) for _, norm in SCALES_SEEN)
