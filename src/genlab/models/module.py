"""The LightningModule base of genlab's model families (GANModule, LanguageModel, VAEModule, ClassifierModule)."""
from lightning.pytorch import LightningModule
from lightning.pytorch.strategies import FSDPStrategy


class GenlabModule(LightningModule):
    """A LightningModule whose gradient clipping also norm-clips under FSDP."""

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Under FSDP, norm clipping through the root FSDP module's own clip_grad_norm_ (the norm of the sharded
        gradients; Lightning 2.6 clips only by value there, Lightning-AI/pytorch-lightning#19235), else Lightning's."""
        norm = gradient_clip_algorithm in (None, "norm")
        if gradient_clip_val and norm and isinstance(self.trainer.strategy, FSDPStrategy):
            self.trainer.strategy.model.clip_grad_norm_(gradient_clip_val)
        else:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
