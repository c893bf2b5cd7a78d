"""Loggers: the always-on run CSV logger, the dashboards' loggers (TensorBoard, wandb, MLflow) and media logging."""
