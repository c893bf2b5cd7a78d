"""A genlab GPT as a Hugging Face transformers GPT-2 directory (config.json, model.safetensors, tokenizer.json and its
config), which GPT2LMHeadModel.from_pretrained and AutoTokenizer.from_pretrained load without genlab.

GPT-2's blocks are genlab's (pre-LayerNorm, fused q/k/v, exact GELU with activation_function=gelu, learned positions,
tied head); its projections are Conv1D layers, whose weights are the transposed Linear weights, and it always has
biases, which a bias=false GPT exports as zeros.
"""
import importlib.util
from pathlib import Path

import torch

from genlab.errors import ConfigError

CONV1D_WEIGHTS = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def require_transformers() -> None:
    if importlib.util.find_spec("transformers") is None:
        raise ConfigError("format=hf needs the optional extra: pip install 'genlab[hf]' (Hugging Face transformers)")


def gpt2_state_dict(network) -> dict[str, torch.Tensor]:
    """genlab GPT weights under GPT-2's names and layouts (lm_head left out: GPT-2 ties it to wte too)."""
    state, converted = network.state_dict(), {}
    for key, value in state.items():
        if key == "lm_head.weight":
            continue
        converted[key] = value.t().contiguous() if key.endswith(CONV1D_WEIGHTS) else value.clone()
    for key, value in list(converted.items()):  # GPT-2 has a bias beside every weight of these layers
        if key.endswith((".weight",)) and "wte" not in key and "wpe" not in key:
            bias = key[: -len("weight")] + "bias"
            if bias not in converted:
                converted[bias] = torch.zeros(value.shape[-1] if key.endswith(CONV1D_WEIGHTS) else value.shape[0])
    return converted


def hf_tokenizer(tokenizer):
    """The genlab tokenizer as a transformers PreTrainedTokenizerFast: a character vocabulary as a WordLevel model
    over single characters (concatenated back when decoding), a BPE one as the Hugging Face tokenizer it is."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if tokenizer.kind == "bpe":
        backend = tokenizer.tokenizer
    else:
        backend = Tokenizer(models.WordLevel({char: index for index, char in enumerate(tokenizer.chars)}))
        backend.pre_tokenizer = pre_tokenizers.Split(Regex("[\\s\\S]"), behavior="isolated")
        backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=backend, clean_up_tokenization_spaces=False)


def write_hf_gpt2(module, out_dir: Path, ckpt_path) -> Path:
    """Write `module` (a GPTLanguageModel, adapters merged) as a transformers GPT-2 dir; returns the dir."""
    from genlab.networks.gpt import GPT

    network = getattr(module, "network", None)
    if not isinstance(network, GPT) or not hasattr(module, "text_tokenizer"):
        raise ConfigError(f"ckpt_path={ckpt_path} holds a {type(module).__name__}; format=hf exports GPT language "
                          "models (format=genlab exports any)")
    from genlab.networks.gpt import NETWORK_OPTIONS

    changed = [f"{key}={value}" for key, value in getattr(module, "network_options", {}).items()
               if value != NETWORK_OPTIONS[key]]
    if changed:
        raise ConfigError(f"ckpt_path={ckpt_path}: GPT-2 has no equivalent of model.network.{changed[0]}; format=hf "
                          "exports nanoGPT-style GPTs (format=genlab exports any)")
    require_transformers()
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    config = GPT2Config(
        vocab_size=network.vocab_size, n_positions=network.block_size, n_embd=network.n_embd,
        n_layer=network.n_layer, n_head=network.n_head, activation_function="gelu", resid_pdrop=0.0,
        embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=None,
    )
    model = GPT2LMHeadModel(config)
    missing, unexpected = model.load_state_dict(gpt2_state_dict(network), strict=False)
    if unexpected or [key for key in missing if key != "lm_head.weight"]:
        raise ConfigError(f"ckpt_path={ckpt_path}: its GPT does not map onto GPT-2 ({(unexpected or missing)[0]})")
    model.tie_weights()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer = hf_tokenizer(module.text_tokenizer())
    tokenizer.model_max_length = network.block_size
    tokenizer.save_pretrained(out_dir)
    return out_dir
