"""Short language-model runs on a small play: its text, the model choices and the metrics they log."""
import csv

TEXT = "".join(f"{name}:\nThe {thing} is {mood}, and so am I.\n\n" for name, thing, mood in [
    ("ROMEO", "night", "young"), ("JULIET", "moon", "pale"), ("NURSE", "hour", "late"), ("FRIAR", "herb", "green"),
] * 40)
MODELS = {
    "gpt": ["model=gpt", "model.n_layer=2", "model.n_head=2", "model.n_embd=32", "model.dropout=0.0"],
    "lstm": ["model=rnn_lm", "model.cell=lstm", "model.hidden_size=48", "model.num_layers=1"],
    "gru": ["model=rnn_lm", "model.cell=gru", "model.hidden_size=48", "model.num_layers=1"],
    "rnn": ["model=rnn_lm", "model.cell=rnn", "model.hidden_size=48", "model.num_layers=1"],
}


def lm_args(text_file, model: str, *extra: str) -> list[str]:
    """A 20-step run on the small play: 2 validations of the whole val split, text samples at each."""
    return ["data=text", f"data.path={text_file}", "data.block_size=32", "data.batch_size=8",
            "data.train_batches_per_epoch=10", *MODELS[model], "model.lr=1e-2", "model.min_lr=1e-3",
            "model.warmup_steps=2", "model.sample_tokens=40", "trainer.max_steps=20", "trainer.max_epochs=-1",
            "trainer.log_every_n_steps=1", "trainer.gradient_clip_val=1.0", "callbacks.rich_progress_bar=null",
            "callbacks.sample_logger.num_samples=2", "test=false", "optimized_metric=val/loss", *extra]


def metric_column(run_dir, key: str) -> list[float]:
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    return [float(row[key]) for row in rows if row.get(key)]
