import pytest
import torch

from seqnet.tasks.metrics import SpanF1, TokenNLL, is_span_tagset, spans


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], {(0, 1, "PER"), (3, 3, "LOC")}),
        (["B-PER", "B-PER", "I-PER"], {(0, 0, "PER"), (1, 2, "PER")}),
        (["I-PER", "I-PER", "O", "I-LOC"], {(0, 1, "PER"), (3, 3, "LOC")}),  # IOB1 / lenient starts
        (["B-PER", "I-LOC"], {(0, 0, "PER"), (1, 1, "LOC")}),  # a type change ends and starts
        (["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], {(0, 0, "PER"), (1, 3, "LOC")}),  # BIOES
        (["O", "O"], set()),
    ],
)
def test_spans_follow_the_conll_rule(tags, expected):
    assert spans(tags) == expected


def test_entity_f1_counts_a_span_only_if_type_and_both_boundaries_match():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    gold = torch.tensor([[1, 2, 0, 3, -100], [3, 4, 4, 0, 1]])
    pred = torch.tensor([[1, 0, 0, 3, 4], [3, 4, 0, 0, 1]])
    # row 0: gold PER(0,1), LOC(3,3); pred PER(0,0) wrong end, LOC(3,3) right (step 4 is padding)
    # row 1: gold LOC(0,2), PER(4,4); pred LOC(0,1) wrong end, PER(4,4) right
    values = {which: SpanF1(names, which)(pred, gold).item() for which in ("precision", "recall", "f1")}
    assert values == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert is_span_tagset(names) and not is_span_tagset(["noun", "verb"]) and not is_span_tagset(["O"])


def test_token_nll_perplexity_and_bits_agree_and_skip_padding():
    logits = torch.randn(2, 5, 7)
    target = torch.randint(0, 7, (2, 5))
    target[1, 3:] = -100
    nll = torch.nn.functional.cross_entropy(logits.view(-1, 7), target.view(-1), ignore_index=-100)
    assert TokenNLL("nll")(logits, target).item() == pytest.approx(nll.item(), rel=1e-5)
    assert TokenNLL("perplexity")(logits, target).item() == pytest.approx(nll.exp().item(), rel=1e-5)
    assert TokenNLL("bits")(logits, target).item() == pytest.approx(nll.item() / 0.6931472, rel=1e-5)
