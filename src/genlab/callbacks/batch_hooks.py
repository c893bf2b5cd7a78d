"""Per-batch callback hooks that a callback only inherits are taken out of Lightning's per-step dispatch.

Lightning calls six callback hooks a training step (plus the validation batch hooks) on every callback, each in a
profiler context, whether the callback overrides it or not: 5-10 us per callback and hook here between a model's
kernels, about 0.3 ms of a 33 ms gpt_shakespeare_cpu step with genlab's dozen callbacks. Lightning skips a hook
attribute that is not callable (`lightning.pytorch.trainer.call._call_callback_hooks`), so an inherited no-op batch
hook is set to None on the instance. Only batch hooks: Lightning calls those through that function alone.
"""
from collections.abc import Iterable

from lightning.pytorch import Callback

BATCH_HOOKS = (
    "on_train_batch_start", "on_train_batch_end", "on_before_backward", "on_after_backward",
    "on_before_optimizer_step", "on_before_zero_grad", "on_validation_batch_start", "on_validation_batch_end",
    "on_test_batch_start", "on_test_batch_end", "on_predict_batch_start", "on_predict_batch_end",
)


def skip_inherited_batch_hooks(callbacks: Iterable[Callback]) -> None:
    """Set each callback's batch hooks that its class does not override to None (Lightning then skips them)."""
    for callback in callbacks:
        for hook in BATCH_HOOKS:
            if getattr(type(callback), hook) is getattr(Callback, hook):
                setattr(callback, hook, None)
