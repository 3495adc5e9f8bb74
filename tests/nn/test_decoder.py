import pytest
import torch

from seqnet.nn import RecurrentEncoder
from seqnet.nn.decoder import RecurrentDecoder, StateBridge
from seqnet.nn.decoding import beam_search, greedy


def memory_of(batch=3, steps=6, size=10, seed=0):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 3, 1])[:batch]
    mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
    memory = torch.randn(batch, steps, size, generator=generator) * mask.unsqueeze(-1)
    return memory, mask


def decoder_and_state(attention="general", input_feed=True, cell="lstm", **options):
    torch.manual_seed(0)
    decoder = RecurrentDecoder(
        12, 10, embedding_dim=5, cell=cell, hidden_size=8, attention=attention, input_feed=input_feed,
        **options,
    ).eval()  # fmt: skip
    memory, mask = memory_of()
    bridge = StateBridge(7, decoder.core.state_sizes)
    state = decoder.start(bridge(torch.randn(3, 7)), memory, mask)
    return decoder, state


CONFIGS = [
    {"attention": "general", "input_feed": True},
    {"attention": "additive", "input_feed": False},
    {"attention": "dot", "input_feed": False, "hidden_size_memory": True},
    {"attention": "none", "input_feed": False},
    {"attention": "general", "input_feed": True, "cell": ["gru", "lstm"]},
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@torch.no_grad()
def test_stepping_with_the_reference_fed_in_equals_the_teacher_forced_pass(config):
    config = dict(config)
    if config.pop("hidden_size_memory", False):  # dot attention: decoder width = memory width
        torch.manual_seed(0)
        decoder = RecurrentDecoder(12, 8, embedding_dim=5, hidden_size=8, **config).eval()
        memory, mask = memory_of(size=8)
        state = decoder.start(decoder.core.initial_state(3), memory, mask)
    else:
        decoder, state = decoder_and_state(**config)
    inputs = torch.randint(1, 12, (3, 5))
    logits, weights = decoder(inputs, torch.full((3,), 5), state)
    stepped = []
    for t in range(5):
        step_logits, state = decoder.step(inputs[:, t], state)
        stepped.append(step_logits)
    assert torch.allclose(logits, torch.stack(stepped, dim=1), atol=1e-5)
    if config["attention"] != "none":
        assert weights.shape == (3, 5, 6) and torch.all(weights[1, :, 3:] == 0)


def test_a_bidirectional_core_is_refused():
    with pytest.raises(ValueError, match="cannot be bidirectional"):
        RecurrentDecoder(5, 4, bidirectional=True)


def test_the_bridge_starts_any_decoder_from_any_encoder_summary():
    encoder = RecurrentEncoder(4, cell="gru", hidden_size=6, bidirectional=True)  # summary (B, 12)
    decoder = RecurrentDecoder(9, 12, cell="lstm", hidden_size=5, num_layers=2)
    out = encoder(torch.randn(2, 3, 4), torch.tensor([3, 1]))
    state = StateBridge(encoder.output_size, decoder.core.state_sizes)(out.last)
    assert [tuple(t.shape for t in layer) for layer in state] == [((1, 2, 5), (1, 2, 5))] * 2


@torch.no_grad()
def test_beam_search_follows_the_decoder_state_and_beam_one_is_greedy():
    decoder, state = decoder_and_state()
    start = torch.ones(3, dtype=torch.long)
    best = greedy(decoder.step, start, state, 7, eos_id=2)
    one = beam_search(decoder.step, start, state, 7, beam_size=1, eos_id=2, length_penalty=0.0)
    assert torch.equal(best.tokens, one.tokens) and torch.allclose(best.scores, one.scores)
    wide = beam_search(decoder.step, start, state, 7, beam_size=4, eos_id=2, length_penalty=0.0)
    assert torch.all(wide.scores >= best.scores - 1e-5)
