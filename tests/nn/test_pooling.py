import pytest
import torch

from seqnet.nn import POOLINGS, EncoderOutput, RecurrentEncoder, build_pooling
from seqnet.nn.masking import lengths_to_mask

LENGTHS = torch.tensor([4, 2, 3])


def encoder_output(padding_value: float) -> EncoderOutput:
    torch.manual_seed(0)
    outputs = torch.randn(3, 4, 5)
    mask = lengths_to_mask(LENGTHS, 4)
    outputs = outputs.masked_fill(~mask.unsqueeze(-1), padding_value)
    return EncoderOutput(outputs=outputs, last=outputs[:, 0], final_state=[], mask=mask)


@pytest.mark.parametrize("name", POOLINGS)
def test_pooling_ignores_padded_steps(name):
    pool = build_pooling(name, 5)
    torch.testing.assert_close(pool(encoder_output(0.0)), pool(encoder_output(1e3)))


def test_mean_and_max_over_valid_steps_only():
    enc = encoder_output(-7.0)
    mean = build_pooling("mean", 5)(enc)
    maximum = build_pooling("max", 5)(enc)
    for i, length in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(mean[i], enc.outputs[i, :length].mean(0))
        torch.testing.assert_close(maximum[i], enc.outputs[i, :length].max(0).values)


def test_attention_weights_are_a_distribution_over_valid_steps():
    pool = build_pooling("attention", 5)
    enc = encoder_output(0.0)
    pooled = pool(enc)
    assert pooled.shape == (3, 5)
    torch.testing.assert_close(pool.weights.sum(1), torch.ones(3))
    assert torch.all(pool.weights[~enc.mask] == 0)


def test_last_pooling_reads_the_encoder_summary_of_a_bidirectional_encoder():
    enc = RecurrentEncoder(3, 4, cell="gru", bidirectional=True)
    out = enc(torch.randn(3, 4, 3), LENGTHS)
    pooled = build_pooling("last", enc.output_size)(out)
    for i, length in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[i, :4], out.outputs[i, length - 1, :4])
        torch.testing.assert_close(pooled[i, 4:], out.outputs[i, 0, 4:])


def test_unknown_pooling_names_the_choices():
    with pytest.raises(ValueError, match="unknown pooling 'median'; choose from"):
        build_pooling("median", 5)
