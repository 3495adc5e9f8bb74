import pytest
import torch

from seqnet.nn.attention import ATTENTIONS, Attention, build_attention, register_attention


@pytest.mark.parametrize("name", sorted(ATTENTIONS))
def test_weights_sum_to_one_over_valid_steps_and_are_exactly_zero_on_padding(name):
    torch.manual_seed(0)
    attention = build_attention(name, 8, 8)
    memory = torch.randn(3, 5, 8)  # (B, S, M)
    lengths = torch.tensor([5, 2, 0])
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    memory = memory * mask.unsqueeze(-1)
    context, weights = attention(torch.randn(3, 8), attention.keys(memory), memory, mask)
    assert torch.all(weights[~mask] == 0.0)
    assert torch.allclose(weights[:2].sum(-1), torch.ones(2))
    assert torch.all(weights[2] == 0) and torch.all(context[2] == 0), "an empty source: no NaN"
    assert torch.allclose(context[1], weights[1, :2] @ memory[1, :2])


def test_padding_values_never_change_the_context():
    torch.manual_seed(0)
    attention = build_attention("additive", 6, 4)
    memory = torch.randn(2, 7, 4)
    mask = torch.arange(7).unsqueeze(0) < torch.tensor([[4], [7]])
    query = torch.randn(2, 6)
    noisy = memory.masked_fill(~mask.unsqueeze(-1), 1e3)
    first = attention(query, attention.keys(memory), memory, mask)[0]
    second = attention(query, attention.keys(noisy), noisy, mask)[0]
    assert torch.allclose(first, second)


def test_dot_attention_needs_equal_widths_and_says_what_to_use():
    with pytest.raises(ValueError, match="use attention=general"):
        build_attention("dot", 8, 16)


def test_none_builds_nothing_and_an_unknown_name_lists_the_choices():
    assert build_attention("none", 4, 4) is None
    with pytest.raises(ValueError, match=r"choose none or one of \['additive', 'dot', 'general'"):
        build_attention("cosine", 4, 4)


class ScaledDot(Attention):
    def score(self, query, keys):
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2) / self.query_size**0.5


def test_a_scorer_of_your_own_by_import_path_or_registration():
    scorer = build_attention(f"{__name__}.ScaledDot", 4, 4)
    assert isinstance(scorer, ScaledDot)
    register_attention("scaled_dot", ScaledDot)
    try:
        assert isinstance(build_attention("scaled_dot", 4, 4), ScaledDot)
    finally:
        ATTENTIONS.pop("scaled_dot")
        ATTENTIONS.pop(f"{__name__}.ScaledDot")
