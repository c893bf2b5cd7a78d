"""A few random 16x16 images with labels, and a bare Trainer fitting a GAN on them for a few steps."""
import torch
from lightning.pytorch import Trainer
from torch.utils.data import DataLoader, TensorDataset


def tiny_loader(count: int = 64, batch_size: int = 16) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(count, 1, 16, 16, generator=generator) * 2 - 1
    labels = torch.randint(0, 10, (count,), generator=generator)
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=False)


def fit(model, max_steps: int) -> Trainer:
    trainer = Trainer(max_steps=max_steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, limit_val_batches=0, accelerator="cpu")
    trainer.fit(model, train_dataloaders=tiny_loader())
    return trainer
