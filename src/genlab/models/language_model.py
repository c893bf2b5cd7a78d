"""LanguageModel: the text layer of the sequence-model base, shared by the GPT and the RNN LMs.

The vocabulary comes from the data's tokenizer; `<split>/loss` (nats per token), `<split>/ppl` = exp(loss) and
`<split>/bpc` = nats / characters / ln 2 are summed over the whole split; samples are text continuations of a prompt.
"""
import math

import torch

from genlab.errors import ConfigError
from genlab.models.sequence_model import SequenceModel
from genlab.networks.generation import generate


class LanguageModel(SequenceModel):
    """Next-token training on text; members only say how to build the network.

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
        optimizer: str = "adamw",
        muon_lr: float = 0.02,
        muon_momentum: float = 0.95,
        schedule: str = "cosine",
        cooldown_fraction: float = 0.5,
    ):
        super().__init__(vocab_size=vocab_size, lr=lr, min_lr=min_lr, weight_decay=weight_decay, betas=betas,
                         warmup_steps=warmup_steps, lr_decay_steps=lr_decay_steps, counts=("chars",),
                         optimizer=optimizer, muon_lr=muon_lr, muon_momentum=muon_momentum, schedule=schedule,
                         cooldown_fraction=cooldown_fraction)
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens
        self.temperature, self.top_k = temperature, top_k
        self.tokenizer = None
        self.data_description: dict = {}
        self.register_buffer("token_chars", torch.ones(0, dtype=torch.long), persistent=False)

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

    # ---- evaluation ----------------------------------------------------------------------------------
    def evaluation_counts(self, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"chars": self.token_chars[targets].sum()}

    def evaluation_metrics(self, split: str, sums: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mean nats per token, its perplexity, and bits per character."""
        loss = sums["nats"] / sums["tokens"]
        return {f"{split}/loss": loss, f"{split}/ppl": torch.exp(loss),
                f"{split}/bpc": sums["nats"] / sums["chars"] / math.log(2)}

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
