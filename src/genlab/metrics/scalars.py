"""Lightning's logged metrics as plain floats (run_info.json's final metrics, sweep objectives, TensorBoard hparams)."""


def scalar_metrics(metrics: dict) -> dict[str, float]:
    """The single-valued entries of `metrics` (tensors or numbers) as floats."""
    return {name: float(value) for name, value in metrics.items() if getattr(value, "numel", lambda: 1)() == 1}
