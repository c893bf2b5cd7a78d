"""bf16 on CPUs without native bf16: recurrent layers stay in fp32 under autocast, emulated bf16 is announced."""
import pytest
import torch
from torch import nn

from genlab import cpu_bf16
from genlab.cpu_bf16 import run_recurrent
from genlab.networks.classifiers import RowLSTM
from genlab.networks.rnn_lm import RNNLM

WARNING = ("genlab: warning: trainer.precision=bf16-mixed on a CPU without native bf16 (no AVX-512 BF16 or AMX): its "
           "matmuls are emulated, far slower than trainer.precision=32-true")


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU, nn.RNN])
def test_a_recurrent_layer_under_cpu_autocast_runs_in_fp32_and_matches_it_exactly(cell):
    torch.manual_seed(0)
    rnn = cell(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(4, 5, 8)
    expected, expected_state = rnn(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs, state = run_recurrent(rnn, x.bfloat16())  # bf16 input, as an autocast layer before it gives
        continued, _ = run_recurrent(rnn, x.bfloat16(), tuple(s.bfloat16() for s in state) if cell is nn.LSTM
                                     else state.bfloat16())
    assert outputs.dtype == torch.float32 and continued.dtype == torch.float32
    assert torch.allclose(outputs, expected, atol=1e-2)  # the input was rounded to bf16, nothing else
    assert torch.equal(run_recurrent(rnn, x)[0], expected)  # no autocast: the layer itself


def test_lstm_networks_train_a_step_under_cpu_bf16_autocast():
    torch.manual_seed(0)
    for network, inputs in ((RowLSTM(1, 16, 10, hidden_size=32), torch.randn(4, 1, 16, 16)),
                            (RNNLM(20, "lstm", 2, 32), torch.randint(0, 20, (4, 12)))):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output = network(inputs)
        logits = output[0] if isinstance(output, tuple) else output
        logits.float().square().mean().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in network.parameters() if p.requires_grad)


@pytest.mark.parametrize("native, warned", [(False, True), (True, False)])
def test_a_bf16_cpu_run_warns_in_one_line_only_where_bf16_is_emulated(run_cli, monkeypatch, native, warned):
    monkeypatch.setattr(cpu_bf16, "native_cpu_bf16", lambda: native)
    result = run_cli("train", "experiment=cnn_digits", "trainer.precision=bf16-mixed", "debug=fdr",
                     "callbacks.rich_progress_bar=null")
    assert result.exit_code == 0, result.stderr
    assert (WARNING in result.stderr.splitlines()) is warned
    assert sum("without native bf16" in line for line in result.stderr.splitlines()) == warned
