"""LanguageModel: next-token training shared by the GPT and the RNN LMs.

AdamW (weight decay on matrices only), per-step warmup + cosine decay to `min_lr`, and
`<split>/loss`, `<split>/ppl` = exp(loss), `<split>/bpc` = nats / characters / ln 2 summed with
torchmetrics aggregators (right under DDP). Gradient clipping and accumulation are the Trainer's
(`trainer.gradient_clip_val`, `trainer.accumulate_grad_batches`).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import SumMetric

from genlab.checks import number
from genlab.errors import ConfigError
from genlab.models.fused_clipping import clip_in_fused_step
from genlab.models.lr_schedules import per_step, total_optimizer_steps, warmup_cosine
from genlab.models.module import GenlabModule
from genlab.models.step_logging import logs_this_step
from genlab.networks.generation import generate

NO_DECAY_MODULES = (nn.Embedding, nn.LayerNorm)


def parameter_groups(network: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: decay on weight matrices; none on biases, norms and embeddings (tied heads included)."""
    exempt = {id(p) for module in network.modules() if isinstance(module, NO_DECAY_MODULES) for p in module.parameters()}
    params = list(dict.fromkeys(network.parameters()))  # tied weights once
    decay = [p for p in params if p.dim() >= 2 and id(p) not in exempt]
    no_decay = [p for p in params if p.dim() < 2 or id(p) in exempt]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def adamw(network: nn.Module, lr: float, betas: tuple[float, float], weight_decay: float,
          precision: str = "32-true") -> torch.optim.AdamW:
    """AdamW over `parameter_groups`, with PyTorch's fused kernel on CPU and CUDA: one kernel a parameter instead of
    a dozen ops (1.9 -> 0.7 ms a step for gpt_shakespeare_cpu's GPT on this CPU; the same update up to rounding).
    Not under mixed precision, where Lightning refuses to clip the gradients of an optimizer that could unscale them."""
    device = next(network.parameters()).device.type
    fused = device in ("cpu", "cuda") and not precision.endswith("-mixed")
    return torch.optim.AdamW(parameter_groups(network, weight_decay), lr=lr, betas=betas, fused=fused or None)


class LanguageModel(GenlabModule):
    """Trains `self.network` (token ids (B, T) → logits (B, T, V)); members only say how to build it.

    `vocab_size: null` takes the size from the datamodule when the trainer sets the model up
    (`configure_model`); checkpoints record the size, so loading needs no data.
    """

    sample_kind = "text"  # `sample()` returns strings: the sample logger writes text, FID/KID/IS stay off

    def __init__(
        self,
        vocab_size: int | None = None,
        lr: float = 1e-3,
        min_lr: float = 1e-4,
        weight_decay: float = 0.1,
        betas: tuple[float, float] = (0.9, 0.99),
        warmup_steps: int = 100,
        lr_decay_steps: int | None = None,
        sample_prompt: str = "\n",
        sample_tokens: int = 200,
        temperature: float = 0.8,
        top_k: int | None = 200,
    ):
        super().__init__()
        self.lr, self.min_lr = number("model.lr", lr), number("model.min_lr", min_lr)
        if self.min_lr > self.lr:
            raise ConfigError(f"model.min_lr={min_lr} must not exceed model.lr={lr}")
        self.weight_decay, self.betas = number("model.weight_decay", weight_decay), tuple(betas)
        self.warmup_steps = int(number("model.warmup_steps", warmup_steps))
        self.lr_decay_steps = None if lr_decay_steps is None else int(number("model.lr_decay_steps", lr_decay_steps, 1))
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens
        self.temperature, self.top_k = temperature, top_k
        self.vocab_size = vocab_size
        self.network: nn.Module | None = None  # members call `self.finish_setup()` after storing their sizes
        self.tokenizer = None
        self.data_description: dict = {}
        self.register_buffer("token_chars", torch.ones(0, dtype=torch.long), persistent=False)
        self.sums = nn.ModuleDict({
            split: nn.ModuleDict({name: SumMetric().set_dtype(torch.float64) for name in ("nats", "tokens", "chars")})
            for split in ("val", "test")
        })

    def build_network(self, vocab_size: int) -> nn.Module:
        """The pure network for `vocab_size` tokens; each member builds its own."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_network()")

    def finish_setup(self) -> None:
        """Build the network now when the vocabulary size is known (loading a checkpoint), else in configure_model."""
        if self.vocab_size:
            self.network = self.build_network(self.vocab_size)

    # ---- setup from the data -------------------------------------------------------------------------
    def configure_model(self) -> None:
        self.configure_for_data(self.trainer.datamodule)

    def configure_for_data(self, datamodule) -> None:
        """Build the network once the data knows its vocabulary, and take the tokenizer for samples and bpc."""
        if self.network is None:
            self.vocab_size = datamodule.vocab_size
            self.network = self.build_network(self.vocab_size)
        elif self.vocab_size < datamodule.vocab_size:
            raise ConfigError(f"model.vocab_size={self.vocab_size} is smaller than the data's {datamodule.vocab_size} tokens")
        self.tokenizer = datamodule.tokenizer
        self.token_chars = datamodule.token_chars.to(self.device)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Record the vocabulary size in the stored model config, so the checkpoint alone rebuilds the network."""
        meta = checkpoint.get("genlab")
        if meta:
            config = meta["config"]
            meta["config"] = {**config, "model": {**config["model"], "vocab_size": self.vocab_size}}

    # ---- training ------------------------------------------------------------------------------------
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output = self.network(tokens)
        return output[0] if isinstance(output, tuple) else output  # RNNs also return their state

    @property
    def flops_per_batch(self) -> int | None:
        """Training FLOPs of one batch (fwd + bwd), for Lightning's ThroughputMonitor and MFU."""
        batch = getattr(self.trainer.datamodule, "batch_size", 0) * getattr(self.trainer.datamodule, "block_size", 0)
        if self.network is None or not batch:
            return None
        if getattr(self, "_flops_per_token", None) is None:  # asked every batch; counting parameters costs ~0.3 ms
            self._flops_per_token = self.network.flops_per_token()
        return int(self._flops_per_token * batch)

    def configure_optimizers(self):
        optimizer = adamw(self.network, self.lr, self.betas, self.weight_decay, str(self.trainer.precision))
        decay_steps = self.lr_decay_steps or total_optimizer_steps(self.trainer, "model.lr_decay_steps=null")
        return per_step(optimizer, warmup_cosine(self.warmup_steps, decay_steps, self.min_lr / self.lr))

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Norm clipping (`trainer.gradient_clip_val`) happens inside the fused AdamW step where it can
        (genlab.models.fused_clipping: one pass over the gradients fewer), else as GenlabModule clips."""
        if not clip_in_fused_step(self.trainer, optimizer, gradient_clip_val, gradient_clip_algorithm):
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        inputs, targets = batch  # (B, T) each
        loss = F.cross_entropy(self(inputs).flatten(0, 1), targets.flatten())
        if logs_this_step(self):
            self.log("train/loss", loss, prog_bar=True, batch_size=inputs.shape[0])
        return loss

    # ---- evaluation ----------------------------------------------------------------------------------
    def evaluation_step(self, batch, split: str) -> None:
        inputs, targets = batch
        nats = F.cross_entropy(self(inputs).flatten(0, 1).float(), targets.flatten(), reduction="sum")
        sums = self.sums[split]
        sums["nats"].update(nats)
        sums["tokens"].update(targets.numel())
        sums["chars"].update(self.token_chars[targets].sum())

    def validation_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self.evaluation_step(batch, "test")

    def log_evaluation(self, split: str) -> None:
        """Log mean loss, perplexity and bits per character over the whole split (all ranks), then reset."""
        sums = {name: metric.compute() for name, metric in self.sums[split].items()}
        loss = sums["nats"] / sums["tokens"]
        self.log_dict({
            f"{split}/loss": loss.float(),
            f"{split}/ppl": torch.exp(loss).float(),
            f"{split}/bpc": (sums["nats"] / sums["chars"] / math.log(2)).float(),
        }, prog_bar=split == "val")
        for metric in self.sums[split].values():
            metric.reset()

    def on_validation_epoch_end(self) -> None:
        self.log_evaluation("val")

    def on_test_epoch_end(self) -> None:
        self.log_evaluation("test")

    # ---- sampling ------------------------------------------------------------------------------------
    def text_tokenizer(self):
        """The tokenizer from the data, or rebuilt from the checkpoint's data description."""
        if self.tokenizer is None:
            from genlab.data.tokenizers import tokenizer_from_description

            if "tokenizer" not in self.data_description:
                raise ConfigError(f"{type(self).__name__} has no tokenizer: load it from a genlab checkpoint")
            self.tokenizer = tokenizer_from_description(self.data_description["tokenizer"])
        return self.tokenizer

    def generate(self, prompt: str = "\n", max_new_tokens: int = 500, temperature: float = 0.8, top_k: int | None = 200,
                 top_p: float | None = None, num_samples: int = 1, seed: int | None = None, on_text=None) -> list[str]:
        """`num_samples` continuations of `prompt` (prompt included), drawn one after another from one seeded
        generator, so streamed and returned texts are the same; `on_text(sample_index, piece)` gets text as it is made."""
        tokenizer = self.text_tokenizer()
        prompt_ids = tokenizer.encode(prompt)
        if not prompt_ids:
            raise ConfigError("prompt must not be empty (give at least one character, e.g. prompt='\\n')")
        generator = torch.Generator(device=self.device).manual_seed(seed) if seed is not None else None
        texts = []
        for index in range(num_samples):
            idx = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)  # (1, T)
            stream = None if on_text is None else TextStream(tokenizer, prompt_ids, lambda piece: on_text(index, piece))
            tokens = generate(self.network, idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                              generator=generator, on_tokens=stream)
            texts.append(tokenizer.decode(tokens[0].tolist()))
        return texts

    def sample(self, num_samples: int, seed: int | None = None, class_label: int | None = None) -> list[str]:
        """A few texts from the configured prompt, for the sample logger (text, not images)."""
        if class_label is not None:
            raise ConfigError(f"class_label={class_label}: language models are unconditional")
        return self.generate(self.sample_prompt, self.sample_tokens, self.temperature, self.top_k,
                             num_samples=num_samples, seed=seed)


class TextStream:
    """Turns generated token ids into text pieces; holds back an incomplete UTF-8 character (byte-level BPE)."""

    def __init__(self, tokenizer, prompt_ids: list[int], on_text):
        self.tokenizer, self.ids, self.on_text = tokenizer, list(prompt_ids), on_text
        self.emitted = len(tokenizer.decode(self.ids))

    def __call__(self, new_ids: torch.Tensor) -> None:
        self.ids.append(int(new_ids[0]))
        text = self.tokenizer.decode(self.ids)
        if not text.endswith("\ufffd") and len(text) > self.emitted:
            self.on_text(text[self.emitted:])
            self.emitted = len(text)
