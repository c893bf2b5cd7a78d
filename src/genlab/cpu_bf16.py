"""bf16 on CPUs: whether this CPU computes it natively, and recurrent layers kept in fp32 under CPU autocast."""
import sys

import torch
from torch import nn

from genlab.compat.torch_internals import native_cpu_bf16


def warn_if_bf16_is_emulated(trainer) -> None:
    """One stderr line when a CPU run asks for bf16 that this CPU can only emulate."""
    precision = str(trainer.precision)
    if "bf16" in precision and trainer.strategy.root_device.type == "cpu" and trainer.global_rank == 0 \
            and not native_cpu_bf16():
        print(f"genlab: warning: trainer.precision={precision} on a CPU without native bf16 (no AVX-512 BF16 or AMX):"
              " its matmuls are emulated, far slower than trainer.precision=32-true", file=sys.stderr)


def run_recurrent(rnn: nn.RNNBase, x: torch.Tensor, state=None):
    """`rnn(x, state)`, in fp32 when CPU autocast is on: oneDNN has no bf16 LSTM on CPUs without native bf16, and for
    genlab's small recurrent layers the casts would cost more than they save."""
    if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
        return rnn(x, state)
    if state is not None:
        state = tuple(s.float() for s in state) if isinstance(state, tuple) else state.float()
    with torch.autocast("cpu", enabled=False):
        return rnn(x.float(), state)
