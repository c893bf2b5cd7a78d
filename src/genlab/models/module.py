"""The LightningModule base of genlab's model families (GANModule, LanguageModel, VAEModule, ClassifierModule)."""
from lightning.pytorch import LightningModule
from lightning.pytorch.strategies import FSDPStrategy


class GenlabModule(LightningModule):
    """A LightningModule whose running-hook bookkeeping is a plain attribute write.

    Lightning records the name of the hook it is calling on the module (`_current_fx_name`), setting and restoring
    it around every module, callback and strategy hook: 46 writes a gpt_shakespeare_cpu training step.
    nn.Module.__setattr__ checks each value against the Parameter, Module and buffer types first (1.2 us a write
    here, 0.2 us plain).
    """

    def __setattr__(self, name: str, value) -> None:
        if name == "_current_fx_name":  # a str or None: never a parameter, submodule or buffer
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Under FSDP, norm clipping through the root FSDP module's own clip_grad_norm_ (the norm of the sharded
        gradients; Lightning 2.6 clips only by value there, Lightning-AI/pytorch-lightning#19235), else Lightning's."""
        norm = gradient_clip_algorithm in (None, "norm")
        if gradient_clip_val and norm and isinstance(self.trainer.strategy, FSDPStrategy):
            self.trainer.strategy.model.clip_grad_norm_(gradient_clip_val)
        else:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
