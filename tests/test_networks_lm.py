"""Language networks: GPT (with its KV cache), the RNN LM, and the sampling both share."""
import math

import pytest
import torch
import torch.nn.functional as F

from genlab.errors import ConfigError
from genlab.networks.generation import generate, next_token_distribution
from genlab.networks.gpt import GPT, KVCache
from genlab.networks.rnn_lm import RNNLM

CELLS = ["rnn", "lstm", "gru"]
VOCAB = 11


def tiny_gpt(block_size: int = 8, **overrides) -> GPT:
    torch.manual_seed(0)
    return GPT(**dict(vocab_size=VOCAB, block_size=block_size, n_layer=2, n_head=2, n_embd=16) | overrides)


def tiny_rnn(cell: str, **overrides) -> RNNLM:
    torch.manual_seed(0)
    return RNNLM(**dict(vocab_size=VOCAB, cell=cell, num_layers=2, hidden_size=16) | overrides)


def tokens(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


# GPT


def test_gpt_maps_token_ids_to_next_token_logits_over_the_vocabulary():
    assert tiny_gpt()(tokens(3, 8)).shape == (3, 8, VOCAB)


def test_gpt_lm_head_shares_storage_with_the_token_embedding():
    gpt = tiny_gpt()
    assert gpt.lm_head.weight.data_ptr() == gpt.transformer.wte.weight.data_ptr()
    assert gpt.num_parameters(non_embedding=False) == sum(p.numel() for p in set(gpt.parameters()))


def test_gpt_init_is_gpt2s_with_residual_projections_scaled_by_depth():
    gpt = tiny_gpt(n_layer=4, n_embd=64, n_head=4)
    for name, parameter in gpt.named_parameters():
        if name.endswith("c_proj.weight"):
            assert parameter.std().item() == pytest.approx(0.02 / math.sqrt(2 * 4), rel=0.1), name
        elif name.endswith("c_attn.weight") or name.endswith("c_fc.weight"):
            assert parameter.std().item() == pytest.approx(0.02, rel=0.1), name
        elif name.endswith(".bias") and "ln" not in name:
            assert not parameter.any(), name


def test_gpt_rejects_a_sequence_longer_than_block_size_naming_the_key():
    with pytest.raises(ConfigError, match=r"a sequence of 9 tokens exceed model.block_size=8"):
        tiny_gpt()(tokens(1, 9))


def test_gpt_rejects_n_embd_not_divisible_by_n_head():
    with pytest.raises(ConfigError, match=r"model.n_embd=10 must be divisible by model.n_head=3"):
        GPT(vocab_size=VOCAB, n_embd=10, n_head=3)


@pytest.mark.parametrize("key, value, message", [
    ("block_size", 0, r"model.block_size must be an integer >= 1, got 0"),
    ("n_layer", -1, r"model.n_layer must be an integer >= 1"),
    ("dropout", 1.0, r"model.dropout must be a number in \[0, 1\), got 1.0"),
])
def test_gpt_rejects_sizes_that_are_not_positive_and_dropout_outside_unit_interval(key, value, message):
    with pytest.raises(ConfigError, match=message):
        tiny_gpt(**{key: value})


def test_gpt_cached_decoding_gives_the_full_forward_logits():
    gpt, idx = tiny_gpt(block_size=16).eval(), tokens(2, 12)
    cache = KVCache(capacity=16)
    steps = [gpt(idx[:, :5], cache)]  # prefill
    steps += [gpt(idx[:, t:t + 1], cache) for t in range(5, 9)]  # one token at a time
    steps.append(gpt(idx[:, 9:12], cache))  # several new tokens after a filled cache: needs the offset mask
    assert cache.length == 12 and cache.keys[0].shape == (2, 2, 16, 8)  # one buffer of capacity positions
    torch.testing.assert_close(torch.cat(steps, dim=1), gpt(idx), rtol=1e-5, atol=1e-5)


def test_gpt_cached_decoding_rejects_passing_block_size():
    gpt, cache = tiny_gpt(), KVCache(capacity=8)
    gpt(tokens(1, 6), cache)
    with pytest.raises(ConfigError, match=r"6 cached \+ 3 new tokens exceed model.block_size=8"):
        gpt(tokens(1, 3), cache)


def test_gpt_flops_per_token_is_six_n_plus_attention_term():
    gpt = tiny_gpt()
    n = gpt.num_parameters()
    assert n == gpt.num_parameters(non_embedding=False) - 8 * 16  # the position table is left out
    assert gpt.flops_per_token() == 6 * n + 12 * 2 * 2 * 8 * 8


def test_gpt_cached_sampling_draws_the_same_tokens_as_uncached_for_three_block_sizes():
    # float64: the cached and uncached logits differ by rounding only; in float32 a draw that lands within
    # ~1e-7 of a boundary between two tokens could flip, in float64 that is ~1e-16 and never happens here.
    gpt, prompt = tiny_gpt(block_size=8).double(), tokens(3, 3)
    runs = [
        generate(gpt, prompt, 24, generator=torch.Generator().manual_seed(7), use_cache=use_cache)
        for use_cache in (True, False)
    ]
    assert runs[0].shape == (3, 27)
    assert torch.equal(runs[0], runs[1])


def test_generate_streams_each_step_restores_training_mode_and_a_seed_reproduces_it():
    gpt, streamed = tiny_gpt().train(), []
    first = generate(gpt, tokens(2, 2), 5, generator=torch.Generator().manual_seed(3), on_tokens=streamed.append)
    again = generate(gpt, tokens(2, 2), 5, generator=torch.Generator().manual_seed(3))
    assert gpt.training and torch.equal(first, again)
    assert len(streamed) == 5 and all(ids.shape == (2,) for ids in streamed)
    assert torch.equal(torch.stack(streamed, dim=1), first[:, 2:])


@pytest.mark.parametrize("make", [tiny_gpt, lambda: tiny_rnn("lstm")], ids=["gpt", "lstm"])
def test_a_compiled_network_trains_compiled_and_decodes_eagerly_without_tracing_each_step(make):
    from torch._dynamo.testing import CompileCounter

    network, counter = make(), CompileCounter()
    network.compile(backend=counter)  # what model.compile=true does, with a backend that counts the graphs
    output = network(tokens(2, 8))
    (output[0] if isinstance(output, tuple) else output).sum().backward()  # the RNN also returns its state
    assert counter.frame_count >= 1  # the training forward ran compiled
    traced = counter.frame_count
    generate(network, tokens(2, 3), 12, generator=torch.Generator().manual_seed(0))
    assert counter.frame_count == traced  # 12 decoding steps, each a new cache length: nothing traced


def test_generate_rejects_an_empty_prompt():
    with pytest.raises(ConfigError, match=r"prompt must be token ids of shape \(batch, length >= 1\)"):
        generate(tiny_gpt(), tokens(2, 0), 3)


# RNN LM


@pytest.mark.parametrize("cell", CELLS)
def test_rnn_lm_returns_logits_and_a_state_to_continue_from(cell):
    rnn, idx = tiny_rnn(cell), tokens(3, 7)
    logits, state = rnn(idx)
    assert logits.shape == (3, 7, VOCAB)
    continued, _ = rnn(idx[:, 4:], rnn(idx[:, :4])[1])
    torch.testing.assert_close(continued, logits[:, 4:])


def test_rnn_lm_ties_the_head_to_the_embedding_through_a_projection_when_sizes_differ():
    rnn = tiny_rnn("gru", embedding_dim=8, tie_embeddings=True)
    assert rnn.lm_head.weight.data_ptr() == rnn.embedding.weight.data_ptr()
    assert rnn.projection.weight.shape == (8, 16)
    assert rnn(tokens(2, 4))[0].shape == (2, 4, VOCAB)
    assert rnn.num_parameters() == rnn.num_parameters(non_embedding=False)  # the tied table does head work


def test_rnn_lm_flops_per_token_is_six_per_non_embedding_parameter():
    rnn = tiny_rnn("gru")
    assert rnn.num_parameters() == rnn.num_parameters(non_embedding=False) - VOCAB * 16  # a lookup costs no FLOPs
    assert rnn.flops_per_token() == 6 * rnn.num_parameters()


def test_rnn_lm_rejects_an_unknown_cell_listing_the_valid_ones():
    with pytest.raises(ConfigError, match=r"model.cell must be one of rnn, lstm, gru, got 'transformer'"):
        RNNLM(vocab_size=VOCAB, cell="transformer")


@pytest.mark.parametrize("cell", CELLS)
def test_rnn_sampling_with_a_carried_state_draws_what_rerunning_the_whole_sequence_draws(cell):
    rnn, prompt = tiny_rnn(cell).double(), tokens(2, 4)  # float64 for the same reason as the GPT test
    runs = [
        generate(rnn, prompt, 12, generator=torch.Generator().manual_seed(5), use_cache=use_cache)
        for use_cache in (True, False)
    ]
    assert runs[0].shape == (2, 16) and torch.equal(runs[0], runs[1])


# Sampling


def test_top_k_of_one_samples_the_greedy_token():
    logits = torch.randn(4, VOCAB, generator=torch.Generator().manual_seed(0))
    greedy = next_token_distribution(logits, temperature=0)
    assert torch.equal(greedy.argmax(-1), logits.argmax(-1)) and torch.equal(greedy.sum(-1), torch.ones(4))
    torch.testing.assert_close(next_token_distribution(logits, temperature=1.5, top_k=1), greedy)
    torch.testing.assert_close(next_token_distribution(logits, temperature=None), greedy)


def test_top_p_keeps_the_smallest_set_reaching_it_and_a_tiny_top_p_only_the_argmax():
    probs = torch.tensor([[0.1, 0.5, 0.3, 0.1]])
    nucleus = next_token_distribution(probs.log(), top_p=0.75)
    torch.testing.assert_close(nucleus, torch.tensor([[0.0, 0.625, 0.375, 0.0]]))
    assert torch.equal(next_token_distribution(probs.log(), top_p=1e-6), torch.tensor([[0.0, 1.0, 0.0, 0.0]]))


def test_top_k_larger_than_the_vocabulary_keeps_every_token():
    logits = torch.randn(2, VOCAB)
    torch.testing.assert_close(next_token_distribution(logits, top_k=100), F.softmax(logits, -1))


@pytest.mark.parametrize("arguments, message", [
    (dict(temperature=-0.5), r"temperature must be >= 0"),
    (dict(top_p=0.0), r"top_p must be in \(0, 1\]"),
    (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
    (dict(top_k=0), r"top_k must be >= 1"),
])
def test_sampling_arguments_out_of_range_are_named(arguments, message):
    with pytest.raises(ConfigError, match=message):
        next_token_distribution(torch.zeros(1, VOCAB), **arguments)
    with pytest.raises(ConfigError, match=message):
        generate(tiny_gpt(), tokens(1, 2), 1, **arguments)


# Learning


def losses_over_adamw_steps(network, steps: int = 20, lr: float = 1e-2) -> list[float]:
    """Cross-entropy at each of `steps` AdamW steps on windows of a repeated text."""
    text = torch.tensor(list(b"hello world " * 50))
    vocab = sorted(set(text.tolist()))
    ids = torch.tensor([vocab.index(byte) for byte in text.tolist()])
    starts = torch.randint(0, len(ids) - 17, (16,), generator=torch.Generator().manual_seed(0))
    windows = torch.stack([ids[s:s + 17] for s in starts])  # (16, 17): inputs and next-token targets
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        output = network(windows[:, :-1])
        logits = output[0] if isinstance(output, tuple) else output
        loss = F.cross_entropy(logits.flatten(0, 1), windows[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("make", [
    lambda vocab: GPT(vocab_size=vocab, block_size=16, n_layer=2, n_head=2, n_embd=32),
    *[lambda vocab, cell=cell: RNNLM(vocab_size=vocab, cell=cell, num_layers=1, hidden_size=32) for cell in CELLS],
], ids=["gpt", *CELLS])
def test_twenty_adamw_steps_on_repeated_text_lower_the_cross_entropy(make):
    torch.manual_seed(0)
    losses = losses_over_adamw_steps(make(len(set(b"hello world "))))
    assert losses[-1] < 0.5 * losses[0], losses
