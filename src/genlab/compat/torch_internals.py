"""Hooks into private names of torch (see genlab.compat). Imports no Lightning: genlab's networks use it."""
import torch

from genlab.compat.names import absent


def native_cpu_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels here (AVX-512 BF16 or AMX); without them bf16 matmuls are emulated,
    orders of magnitude slower than fp32 (torch has no public query that covers AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def tensorboard_file_writer(writer):
    """A SummaryWriter's event file writer: genlab writes raw events to it (a resumed run's restart marks, the
    hparams session after the fact)."""
    return writer._get_file_writer()


def missing_private_names() -> list[str]:
    """Which of this module's private names the installed torch lacks."""
    from torch.utils.tensorboard import SummaryWriter

    return absent([(torch.ops.mkldnn, ["_is_mkldnn_bf16_supported"]), (SummaryWriter, ["_get_file_writer"])])
