"""The GPT options of the modern recipes (RoPE, RMSNorm, QK-norm, ReLU²/SwiGLU, untied head, zero init, soft-cap),
Muon beside AdamW, and the warmup-stable-decay schedule over steps or wall-clock time."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Timer

from genlab.errors import ConfigError
from genlab.models.lr_schedules import cosine, run_progress, stable_then_linear, with_warmup
from genlab.models.muon import Muon, orthogonalize
from genlab.models.optimizers import MuonAdamW, muon_adamw
from genlab.networks.generation import generate
from genlab.networks.gpt import GPT, KVCache, network_options
from genlab.networks.transformer_parts import Rotary, qk_norm, rotate, softcap

ALL_ON = dict(rope=True, norm="rmsnorm", qk_norm=True, mlp="relu2", tie_embeddings=False, zero_init=False,
              logit_softcap=15.0)


def tiny_gpt(block_size: int = 16, **options) -> GPT:
    torch.manual_seed(0)
    return GPT(vocab_size=11, block_size=block_size, n_layer=2, n_head=2, n_embd=16, **options)


def tokens(batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, 11, (batch, length), generator=torch.Generator().manual_seed(1))


def test_rope_makes_query_key_products_depend_on_the_position_difference_only():
    rotary, q, k = Rotary(8, 64), torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def product(m: int, n: int) -> float:
        qm, kn = rotate(q, *rotary(torch.tensor([m]))), rotate(k, *rotary(torch.tensor([n])))
        return float((qm * kn).sum())

    assert product(3, 1) == pytest.approx(product(40, 38), abs=1e-5)
    assert product(10, 10) == pytest.approx(float((q * k).sum()), abs=1e-5)  # equal positions: no rotation left
    assert product(3, 1) != pytest.approx(product(3, 2), abs=1e-3)
    assert torch.allclose(rotate(q, *rotary(torch.tensor([5]))).norm(), q.norm())  # a rotation keeps lengths


def test_qk_norm_keeps_shapes_and_gives_each_head_vector_unit_rms():
    x = 7 * torch.randn(2, 3, 5, 8)
    normed = qk_norm(x)
    assert normed.shape == x.shape
    torch.testing.assert_close(normed.pow(2).mean(-1), torch.ones(2, 3, 5), rtol=1e-4, atol=1e-4)
    assert tiny_gpt(qk_norm=True)(tokens(2, 7)).shape == (2, 7, 11)


def test_soft_cap_bounds_the_logits_and_leaves_small_ones_nearly_unchanged():
    huge = torch.linspace(-1e4, 1e4, 101)
    assert softcap(huge, 5.0).abs().max() <= 5.0 and softcap(torch.tensor([4.0]), 5.0) < 4.0
    torch.testing.assert_close(softcap(torch.tensor([0.01]), 30.0), torch.tensor([0.01]), rtol=1e-4, atol=0)
    gpt = tiny_gpt(logit_softcap=2.0, tie_embeddings=False)
    torch.nn.init.normal_(gpt.lm_head.weight, 0, 100.0)
    assert gpt(tokens(2, 9)).abs().max() <= 2.0


@pytest.mark.parametrize("mlp", ["gelu", "relu2", "swiglu"])
def test_every_mlp_kind_trains_a_step_and_swiglu_keeps_the_gelu_parameter_budget(mlp):
    gpt = tiny_gpt(mlp=mlp)
    loss = F.cross_entropy(gpt(tokens(2, 9)).flatten(0, 1), tokens(2, 9).flatten())
    loss.backward()
    assert all(p.grad is not None for p in gpt.parameters() if p.requires_grad)
    gelu = sum(p.numel() for p in tiny_gpt().transformer.h[0].mlp.parameters())
    own = sum(p.numel() for p in gpt.transformer.h[0].mlp.parameters())
    assert abs(own - gelu) / gelu < 0.3


def test_untied_head_has_its_own_matrix_and_zero_init_starts_every_block_as_the_identity():
    tied, untied = tiny_gpt(), tiny_gpt(tie_embeddings=False, zero_init=True)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    assert untied.num_parameters() == sum(p.numel() for p in untied.parameters()) - 11 * 16 - 16 * 16
    x = torch.randn(2, 5, 16)
    for block in untied.transformer.h:
        torch.testing.assert_close(block(x), x)
    assert untied(tokens(2, 5)).abs().max() == 0  # the zero head: uniform predictions at step 0


def test_rope_replaces_the_learned_position_table():
    assert "wpe" not in tiny_gpt(rope=True).transformer and "wpe" in tiny_gpt().transformer


def test_cached_decoding_and_sampling_stay_exact_with_every_option_on():
    gpt, idx = tiny_gpt(**ALL_ON).eval(), tokens(2, 12)
    cache = KVCache(capacity=16)
    steps = [gpt(idx[:, :5], cache), *(gpt(idx[:, t:t + 1], cache) for t in range(5, 9)), gpt(idx[:, 9:12], cache)]
    torch.testing.assert_close(torch.cat(steps, dim=1), gpt(idx), rtol=1e-5, atol=1e-5)
    gpt = tiny_gpt(block_size=8, **ALL_ON | {"mlp": "swiglu"}).double()
    runs = [generate(gpt, tokens(3, 3), 20, generator=torch.Generator().manual_seed(7), use_cache=use_cache)
            for use_cache in (True, False)]
    assert torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("options, message", [
    ({"rotary": True}, r"model.network.rotary is not a GPT option \(valid: rope, norm"),
    ({"rope": "yes"}, "model.network.rope must be true or false, got 'yes'"),
    ({"mlp": "geglu"}, "model.network.mlp must be one of gelu, relu2, swiglu, got 'geglu'"),
])
def test_network_options_name_the_offending_key(options, message):
    with pytest.raises(ConfigError, match=message):
        network_options(options)


@pytest.mark.parametrize("options, message", [
    ({"norm": "batchnorm"}, "model.network.norm must be one of layernorm, rmsnorm, got 'batchnorm'"),
    ({"mlp": "tanh"}, "model.network.mlp must be one of gelu, relu2, swiglu, got 'tanh'"),
    ({"logit_softcap": -1.0}, "model.network.logit_softcap must be a number"),
])
def test_gpt_rejects_unknown_parts_in_one_line(options, message):
    with pytest.raises(ConfigError, match=message):
        tiny_gpt(**options)


# ---- Muon ------------------------------------------------------------------------------------------------------
def test_muon_update_is_orthogonal_within_newton_schulz_tolerance():
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.zeros(32, 64))
    u, _, v = torch.linalg.svd(torch.randn(32, 64), full_matrices=False)
    weight.grad = u @ torch.diag(torch.logspace(0, -2, 32)) @ v  # singular values from 1 down to 0.01
    optimizer = Muon([weight], lr=1.0, momentum=0.0, nesterov=False)
    optimizer.step()
    singular = torch.linalg.svdvals(-weight.detach())
    assert singular.min() > 0.5 and singular.max() < 1.3  # quintic Newton-Schulz: ~[0.7, 1.2], not exactly 1
    assert torch.linalg.svdvals(weight.grad).min() < 0.02  # the gradient itself was far from orthogonal


def test_muon_orthogonalizes_tall_and_wide_matrices_alike_and_refuses_vectors():
    matrix = torch.randn(48, 16)
    torch.testing.assert_close(orthogonalize(matrix), orthogonalize(matrix.T).T)
    singular = torch.linalg.svdvals(orthogonalize(matrix))
    assert singular.min() > 0.5 and singular.max() < 1.3
    with pytest.raises(ValueError, match=r"2-D weight matrices only, got a parameter of shape \(16,\)"):
        Muon([torch.nn.Parameter(torch.zeros(16))])


def test_muon_takes_the_hidden_matrices_and_adamw_everything_else_exactly_once():
    gpt = tiny_gpt(**ALL_ON)
    optimizer = muon_adamw(gpt, 1e-3, (0.9, 0.99), 0.1, 0.02, 0.95, 0.0)
    muon = {id(p) for group in optimizer.muon.param_groups for p in group["params"]}
    adam = [id(p) for group in optimizer.adamw.param_groups for p in group["params"]]
    assert muon == {id(p) for p in gpt.hidden_matrices()} and len(muon) == 2 * 4
    assert not muon & set(adam) and len(adam) == len(set(adam))
    assert muon | set(adam) == {id(p) for p in gpt.parameters()}
    assert id(gpt.lm_head.weight) in adam and id(gpt.transformer.wte.weight) in adam


def test_muon_adamw_lowers_the_loss_and_its_state_round_trips():
    gpt, batch = tiny_gpt(**ALL_ON), tokens(4, 12)
    optimizer = muon_adamw(gpt, 3e-3, (0.9, 0.99), 0.1, 0.02, 0.95, 0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5)
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 1.5e-3, 1.5e-3]  # each group's own base

    def loss() -> torch.Tensor:
        return F.cross_entropy(gpt(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())

    first = loss().item()
    for _ in range(20):
        optimizer.zero_grad()
        optimizer.step(lambda: loss().backward())
        scheduler.step()
    assert loss().item() < first - 0.5
    again = muon_adamw(gpt, 3e-3, (0.9, 0.99), 0.1, 0.02, 0.95, 0.0)
    again.load_state_dict(optimizer.state_dict())
    again.param_groups[0]["lr"] = 0.5  # what a scheduler does: the parts see it
    assert again.muon.param_groups[0]["lr"] == 0.5
    momentum = next(iter(again.muon.state.values()))["momentum_buffer"]
    assert torch.equal(momentum, next(iter(optimizer.muon.state.values()))["momentum_buffer"])
    with pytest.raises(ConfigError, match="resume with model.optimizer=muon"):
        again.load_state_dict(torch.optim.AdamW(gpt.parameters()).state_dict())


def test_muon_on_a_network_without_hidden_matrices_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="model.optimizer=muon needs a network with hidden matrices"):
        muon_adamw(torch.nn.LSTM(4, 4), 1e-3, (0.9, 0.99), 0.0, 0.02, 0.95, 0.0)
    assert isinstance(muon_adamw(tiny_gpt(), 1e-3, (0.9, 0.99), 0.0, 0.02, 0.95, 0.0), MuonAdamW)


# ---- schedules -------------------------------------------------------------------------------------------------
def test_warmup_stable_decay_holds_the_peak_then_decays_linearly_to_the_floor():
    factor = with_warmup(10, stable_then_linear(0.1, 0.4), lambda step: step / 100)
    assert factor(0) == pytest.approx(1 / 11) and factor(9) == pytest.approx(10 / 11)
    assert factor(10) == factor(59) == factor(60) == 1.0
    assert factor(80) == pytest.approx(0.1 + 0.9 * 0.5) and factor(100) == pytest.approx(0.1)
    assert factor(500) == pytest.approx(0.1)  # past the end: the floor
    assert with_warmup(0, cosine(0.1), lambda step: step / 100)(50) == pytest.approx(0.55)


def test_a_time_bounded_run_schedules_over_its_wall_clock_budget(monkeypatch):
    import lightning.pytorch.callbacks.timer as timer_module

    now = [1000.0]
    monkeypatch.setattr(timer_module.time, "monotonic", lambda: now[0])
    timer = Timer(duration="00:00:00:40")
    timer.on_train_start(trainer=None, pl_module=None)
    trainer = SimpleNamespace(callbacks=[timer], estimated_stepping_batches=math.inf)
    progress = run_progress(trainer, 0, None, "model.lr_decay_steps=null")
    now[0] += 10
    assert progress(3) == pytest.approx(0.25)
    now[0] += 30
    assert progress(4) == pytest.approx(1.0)
    steps_first = run_progress(SimpleNamespace(callbacks=[timer], estimated_stepping_batches=8), 0, None, "k")
    assert steps_first(8) == pytest.approx(1.0)  # both bounds: whichever ends first
    with pytest.raises(ConfigError, match="set trainer.max_steps, trainer.max_epochs or trainer.max_time"):
        run_progress(SimpleNamespace(callbacks=[], estimated_stepping_batches=math.inf), 0, None, "model.lr_decay_steps=null")
