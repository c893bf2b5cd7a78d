"""SequenceModel: next-token training shared by every token-sequence family (the text LMs, Image GPT).

AdamW (weight decay on matrices only, PyTorch's fused kernel) or Muon on the hidden matrices, per-step warmup then
cosine or warmup-stable-decay to `min_lr` over the run's steps or its `trainer.max_time`, gradient-norm clipping
folded into the fused AdamW step, cross-entropy in nats summed over the val/test splits with
torchmetrics aggregators (exact under DDP), and autoregressive sampling with the network's KV cache. Members say how
a batch becomes (inputs, targets), what their evaluation logs, and how to build their network.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import SumMetric

from genlab.checks import choice, fraction, number, positive
from genlab.errors import ConfigError
from genlab.models.fused_clipping import clip_in_fused_step
from genlab.checkpoints import complete_from_base
from genlab.models.lora_checkpoint import BASE_KEY, keep_adapters_only
from genlab.models.lr_schedules import SCHEDULES, cosine, per_step, run_progress, stable_then_linear, with_warmup
from genlab.models.optimizers import OPTIMIZERS, adamw, muon_adamw
from genlab.models.module import GenlabModule
from genlab.models.step_logging import logs_this_step
from genlab.networks.lora import merge_lora

EVALUATED_SPLITS = ("val", "test")


class SequenceModel(GenlabModule):
    """Trains `self.network` (token ids (B, T) → logits (B, T, V)) to predict each next token.

    Members build the network (`build_network`), turn a batch into (inputs, targets) (`sequence_batch`), add their
    own evaluation counts (`evaluation_counts`) and say what to log from the sums (`evaluation_metrics`).
    `optimizer=muon` trains the network's hidden matrices with Muon at `muon_lr` (the rest with AdamW at `lr`);
    `schedule=wsd` holds the peak rate until the last `cooldown_fraction` of the run.
    """

    def __init__(self, vocab_size: int | None, lr: float, min_lr: float, weight_decay: float,
                 betas: tuple[float, float], warmup_steps: int, lr_decay_steps: int | None,
                 counts: tuple[str, ...] = (), optimizer: str = "adamw", muon_lr: float = 0.02,
                 muon_momentum: float = 0.95, schedule: str = "cosine", cooldown_fraction: float = 0.5):
        super().__init__()
        self.optimizer_name = choice("model.optimizer", optimizer, OPTIMIZERS)
        self.schedule = choice("model.schedule", schedule, SCHEDULES)
        self.muon_lr, self.muon_momentum = number("model.muon_lr", muon_lr), fraction("model.muon_momentum", muon_momentum)
        self.cooldown_fraction = number("model.cooldown_fraction", cooldown_fraction)
        if not 0 < self.cooldown_fraction <= 1:
            raise ConfigError(f"model.cooldown_fraction must be in (0, 1], got {cooldown_fraction!r}")
        self.lr, self.min_lr = positive("model.lr", lr), number("model.min_lr", min_lr)
        if self.min_lr > self.lr:
            raise ConfigError(f"model.min_lr={min_lr} must not exceed model.lr={lr}")
        self.weight_decay, self.betas = number("model.weight_decay", weight_decay), tuple(betas)
        self.warmup_steps = int(number("model.warmup_steps", warmup_steps))
        self.lr_decay_steps = None if lr_decay_steps is None else int(number("model.lr_decay_steps", lr_decay_steps, 1))
        self.vocab_size = vocab_size
        self.network: nn.Module | None = None  # members call `self.finish_setup()` after storing their sizes
        self.lora_base: dict | None = None  # the base checkpoint LoRA adapters were trained on (set by init_from)
        self.sums = nn.ModuleDict({
            split: nn.ModuleDict({name: SumMetric().set_dtype(torch.float64) for name in ("nats", "tokens", *counts)})
            for split in EVALUATED_SPLITS
        })

    def build_network(self, vocab_size: int) -> nn.Module:
        """The pure network for `vocab_size` tokens; each member builds its own."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_network()")

    def finish_setup(self) -> None:
        """Build the network now when the vocabulary size is known, else when the data gives it (LMs)."""
        if self.vocab_size:
            self.network = self.build_network(self.vocab_size)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record the vocabulary size in the stored model config, so the checkpoint alone rebuilds the network; a LoRA
        run keeps only its adapters, and where its frozen base weights come from."""
        meta = checkpoint.get("genlab")
        if meta:
            config = meta["config"]
            meta["config"] = {**config, "model": {**config["model"], "vocab_size": self.vocab_size}}
        if self.lora_base:
            keep_adapters_only(checkpoint, self.lora_base)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """A LoRA run's checkpoint (resumed) gets its base weights back from the recorded base checkpoint."""
        complete_from_base(checkpoint, "the resumed checkpoint")
        self.lora_base = (checkpoint.get("genlab") or {}).get(BASE_KEY)

    def merge_adapters(self) -> None:
        """Fold LoRA adapters into the network's weights (sampling and export need a plain network)."""
        if self.network is not None:
            self.network = merge_lora(self.network)

    # ---- training ------------------------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output = self.network(tokens)
        return output[0] if isinstance(output, tuple) else output  # RNNs also return their state

    def sequence_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs (B, T), targets (B, T)) token ids from a batch; text batches already are that."""
        return batch

    def tokens_per_sample(self) -> int:
        """Tokens one sample feeds the network (FLOPs, throughput)."""
        return getattr(self.trainer.datamodule, "block_size", 0)

    def train_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """The logged `train/loss` from the mean nats per token (members may log another unit)."""
        return loss

    @property
    def flops_per_batch(self) -> int | None:
        """Training FLOPs of one batch (fwd + bwd), for Lightning's ThroughputMonitor and MFU."""
        batch = getattr(self.trainer.datamodule, "batch_size", 0) * self.tokens_per_sample()
        if self.network is None or not batch or not hasattr(self.network, "flops_per_token"):
            return None
        if getattr(self, "_flops_per_token", None) is None:  # asked every batch: counted once
            self._flops_per_token = self.network.flops_per_token()
        return int(self._flops_per_token * batch)

    def configure_optimizers(self):
        precision = str(self.trainer.precision)
        if self.optimizer_name == "muon":
            optimizer = muon_adamw(self.network, self.lr, self.betas, self.weight_decay, self.muon_lr,
                                   self.muon_momentum, muon_weight_decay=0.0, precision=precision)
        else:
            optimizer = adamw(self.network, self.lr, self.betas, self.weight_decay, precision)
        min_ratio = self.min_lr / self.lr
        shape = cosine(min_ratio) if self.schedule == "cosine" else stable_then_linear(min_ratio, self.cooldown_fraction)
        progress = run_progress(self.trainer, self.warmup_steps, self.lr_decay_steps, "model.lr_decay_steps=null")
        return per_step(optimizer, with_warmup(self.warmup_steps, shape, progress))

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Norm clipping (`trainer.gradient_clip_val`) happens inside the fused AdamW step where it can
        (genlab.models.fused_clipping: one pass over the gradients fewer), else as GenlabModule clips."""
        if not clip_in_fused_step(self.trainer, optimizer, gradient_clip_val, gradient_clip_algorithm):
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        inputs, targets = self.sequence_batch(batch)  # (B, T) each
        loss = F.cross_entropy(self(inputs).flatten(0, 1), targets.flatten())
        if logs_this_step(self):
            self.log("train/loss", self.train_loss(loss), prog_bar=True, batch_size=inputs.shape[0])
        return loss

    # ---- evaluation ----------------------------------------------------------------------------------
    def evaluation_counts(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor | int]:
        """A member's own evaluation counts of one batch (characters, images), beside nats and tokens."""
        return {}

    def evaluation_metrics(self, split: str, sums: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """What to log from a split's sums (nats, tokens and the member's counts)."""
        raise NotImplementedError(f"{type(self).__name__} must implement evaluation_metrics()")

    def evaluation_step(self, batch, split: str) -> None:
        inputs, targets = self.sequence_batch(batch)
        nats = F.cross_entropy(self(inputs).flatten(0, 1).float(), targets.flatten(), reduction="sum")
        sums = self.sums[split]
        sums["nats"].update(nats)
        sums["tokens"].update(targets.numel())
        for name, count in self.evaluation_counts(inputs, targets).items():
            sums[name].update(count)

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "test")

    def log_evaluation(self, split: str) -> None:
        """Log the split's metrics over the whole split (all ranks), then reset its sums."""
        sums = {name: metric.compute() for name, metric in self.sums[split].items()}
        self.log_dict({key: value.float() for key, value in self.evaluation_metrics(split, sums).items()},
                      prog_bar=split == "val")
        for metric in self.sums[split].values():
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self.log_evaluation("val")

    def on_test_epoch_end(self) -> None:
        self.log_evaluation("test")
