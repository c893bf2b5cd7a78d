"""GPT LightningModule: the LanguageModel training loop over the nanoGPT-style decoder-only Transformer."""
from genlab.models.language_model import LanguageModel
from genlab.networks.gpt import GPT, checked_sizes, network_options
from genlab.networks.lora import add_lora, lora_settings


class GPTLanguageModel(LanguageModel):
    """Decoder-only Transformer LM; defaults are nanoGPT's shakespeare_char recipe. `lora` (rank > 0) puts LoRA
    adapters on the named Linear layers and trains only them (fine-tuning with init_from); `network` holds the
    GPT's options of the modern recipes (genlab.networks.gpt.NETWORK_OPTIONS)."""

    def __init__(self, vocab_size: int | None = None, block_size: int = 256, n_layer: int = 6, n_head: int = 6,
                 n_embd: int = 384, dropout: float = 0.2, bias: bool = False, lr: float = 1e-3, min_lr: float = 1e-4,
                 weight_decay: float = 0.1, betas: tuple[float, float] = (0.9, 0.99), warmup_steps: int = 100,
                 lr_decay_steps: int | None = None, sample_prompt: str = "\n", sample_tokens: int = 200,
                 temperature: float = 0.8, top_k: int | None = 200, lora: dict | None = None,
                 optimizer: str = "adamw", muon_lr: float = 0.02, muon_momentum: float = 0.95,
                 schedule: str = "cosine", cooldown_fraction: float = 0.5, network: dict | None = None):
        super().__init__(vocab_size=vocab_size, lr=lr, min_lr=min_lr, weight_decay=weight_decay, betas=betas,
                         warmup_steps=warmup_steps, lr_decay_steps=lr_decay_steps, sample_prompt=sample_prompt,
                         sample_tokens=sample_tokens, temperature=temperature, top_k=top_k,
                         optimizer=optimizer, muon_lr=muon_lr, muon_momentum=muon_momentum, schedule=schedule,
                         cooldown_fraction=cooldown_fraction)
        self.n_layer, self.n_head, self.n_embd, self.dropout = checked_sizes(n_layer, n_head, n_embd, dropout)
        self.block_size, self.bias, self.lora = block_size, bias, lora_settings(lora)
        self.network_options = network_options(network)
        self.finish_setup()

    def build_network(self, vocab_size: int) -> GPT:
        network = GPT(vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd, self.dropout, self.bias,
                      **self.network_options)
        return add_lora(network, **self.lora) if self.lora else network
