import pytest
import torch

from seqnet.nn import EncoderState, RecurrentEncoder
from seqnet.nn.decoding import beam_search, filter_logits, greedy, sample

VOCAB, EOS = 7, 1


class TinyLM(torch.nn.Module):
    """A random recurrent language model over 7 tokens, for decoding tests."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = torch.nn.Embedding(VOCAB, 8)
        self.encoder = RecurrentEncoder(8, 16, cell="gru")
        self.head = torch.nn.Linear(16, VOCAB)

    def step(self, tokens, state):
        y, state = self.encoder.step(self.embedding(tokens), state)
        return self.head(y) * 3, state  # sharper distributions: decoders then disagree more often

    def sequence_log_prob(self, start, tokens):
        """log p(tokens | start) under the model, (B,), over each row up to and with its EOS."""
        state, previous, total = None, start, torch.zeros(len(start))
        alive = torch.ones(len(start), dtype=torch.bool)
        for t in range(tokens.shape[1]):
            logits, state = self.step(previous, state)
            log_probs = logits.log_softmax(-1).gather(1, tokens[:, t : t + 1]).squeeze(1)
            total = total + log_probs * alive
            alive = alive & (tokens[:, t] != EOS)
            previous = tokens[:, t]
        return total


@pytest.fixture(scope="module")
def lm():
    return TinyLM().eval()


def start_tokens(batch: int = 5):
    return torch.arange(batch) % VOCAB


@torch.no_grad()
def test_beam_of_one_equals_greedy(lm):
    start = start_tokens()
    g = greedy(lm.step, start, None, max_length=12, eos_id=EOS)
    b = beam_search(lm.step, start, lm.encoder.initial_state(5), max_length=12, beam_size=1, eos_id=EOS)
    assert torch.equal(g.lengths, b.lengths)
    for row in range(5):
        assert g.tokens[row, : g.lengths[row]].tolist() == b.tokens[row, : b.lengths[row]].tolist()
    torch.testing.assert_close(g.scores, b.scores)


@torch.no_grad()
def test_beam_search_finds_sequences_at_least_as_likely_as_greedy(lm):
    start = start_tokens(7)
    state = lm.encoder.initial_state(7)
    g = greedy(lm.step, start, None, max_length=10, eos_id=EOS)
    b = beam_search(lm.step, start, state, max_length=10, beam_size=5, eos_id=EOS, length_penalty=0.0)
    assert torch.all(b.scores >= g.scores - 1e-5)
    assert torch.any(b.scores > g.scores + 1e-3), "beams should beat greedy somewhere on this model"
    # the reported scores are the model's log-probabilities of the returned sequences
    torch.testing.assert_close(b.scores, lm.sequence_log_prob(start, b.tokens), atol=1e-4, rtol=0)
    torch.testing.assert_close(g.scores, lm.sequence_log_prob(start, g.tokens), atol=1e-4, rtol=0)


@torch.no_grad()
def test_decoding_stops_at_eos_and_pads_after_it(lm):
    out = greedy(lm.step, start_tokens(), None, max_length=30, eos_id=EOS, pad_id=0)
    for row, length in enumerate(out.lengths.tolist()):
        tokens = out.tokens[row].tolist()
        if length < out.tokens.shape[1] or EOS in tokens:
            assert tokens[length - 1] == EOS and EOS not in tokens[: length - 1]
            assert all(t == 0 for t in tokens[length:])


@torch.no_grad()
def test_a_seeded_sample_is_reproducible_and_differs_across_seeds(lm):
    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return sample(
            lm.step, start_tokens(), None, max_length=20, temperature=1.5, generator=generator
        ).tokens

    assert torch.equal(draw(3), draw(3))
    assert not torch.equal(draw(3), draw(4))


def test_top_k_and_top_p_keep_only_the_most_likely_tokens():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    kept = filter_logits(logits, top_k=2).isfinite()
    assert kept.tolist() == [[True, True, False, False, False]]
    probs = logits.softmax(-1)[0]  # 0.64, 0.24, 0.09, ...
    nucleus = filter_logits(logits, top_p=0.7).isfinite()[0].tolist()
    assert nucleus == [True, True, False, False, False] and probs[0] < 0.7 <= probs[:2].sum()
    assert filter_logits(logits, top_p=0.5).isfinite()[0].tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample(lambda t, s: (logits, s), torch.zeros(1, dtype=torch.long), None, 3, temperature=0)


def test_beam_search_reorders_the_state_with_its_hypotheses():
    seen = []

    def step(tokens, state: EncoderState):
        seen.append(state.batch_size)
        logits = torch.zeros(len(tokens), VOCAB)
        logits[:, 2] = 1.0
        return logits, state

    state = EncoderState(((torch.zeros(1, 2, 3),),))
    out = beam_search(step, torch.zeros(2, dtype=torch.long), state, max_length=4, beam_size=3)
    assert set(seen) == {6} and out.tokens.tolist() == [[2, 2, 2, 2]] * 2
