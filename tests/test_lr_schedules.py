"""The shared per-step LR schedule: nanoGPT's linear warmup, cosine decay to a floor, then flat."""
import pytest

from genlab.models.lr_schedules import warmup_cosine


def test_warmup_is_linear_then_cosine_reaches_the_floor_at_decay_steps_and_stays():
    factor = warmup_cosine(warmup_steps=4, decay_steps=14, min_ratio=0.1)
    assert [factor(step) for step in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert factor(9) == pytest.approx(0.1 + 0.5 * 0.9)
    assert factor(14) == pytest.approx(0.1) and factor(500) == pytest.approx(0.1)


def test_no_decay_keeps_the_rate_after_warmup_and_zero_floor_decays_to_zero():
    assert warmup_cosine(2, 100, decay=False)(50) == 1.0
    assert warmup_cosine(0, 10)(10) == pytest.approx(0.0)
