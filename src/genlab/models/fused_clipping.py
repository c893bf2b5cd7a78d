"""Gradient-norm clipping folded into PyTorch's fused AdamW step.

`torch.nn.utils.clip_grad_norm_` computes the gradients' total norm, then multiplies every gradient by
max_norm / norm: one more pass over all of them (on CPU a kernel per parameter). PyTorch's fused Adam/AdamW kernels
divide each gradient by the optimizer's `grad_scale` as they read it (GradScaler's in-step unscaling) and store the
divided gradient back, so setting `grad_scale` to norm / max_norm (at least 1) gives the clipped update and the
clipped `.grad`, equal up to rounding, without that pass.
"""
import torch
from lightning.pytorch import Trainer
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy
from torch.nn.utils import get_total_norm

# Strategies whose gradients are whole (not sharded) on every rank when the optimizer steps.
WHOLE_GRADIENT_STRATEGIES = (SingleDeviceStrategy, DDPStrategy)


def clip_in_fused_step(trainer: Trainer, optimizer: torch.optim.Optimizer, max_norm: float | None,
                       algorithm) -> bool:
    """Make `optimizer`'s next step clip the gradients to total norm `max_norm`; False, doing nothing, unless the
    optimizer is fused, the algorithm is "norm" (Lightning's default) and the gradients are not sharded."""
    applies = (
        bool(max_norm) and algorithm in (None, "norm") and type(trainer.strategy) in WHOLE_GRADIENT_STRATEGIES
        and all(group.get("fused") for group in optimizer.param_groups)
    )
    if not applies:
        return False
    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if grads:
        optimizer.grad_scale = torch.clamp_min((get_total_norm(grads) + 1e-6) / max_norm, 1.0)  # clip_grad_norm_'s eps
    return True
