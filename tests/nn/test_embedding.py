import pytest
import torch

from seqnet.nn import InputEmbedding


def test_token_ids_are_embedded_and_pad_stays_zero():
    layer = InputEmbedding("tokens", input_size=10, embedding_dim=4, pad_id=0)
    out = layer(torch.tensor([[3, 5, 0]]))
    assert out.shape == (1, 3, 4) and layer.output_size == 4
    assert torch.all(out[0, 2] == 0)


def test_features_pass_through_or_are_projected():
    x = torch.randn(2, 3, 6)
    assert torch.equal(InputEmbedding("features", 6)(x), x)
    projected = InputEmbedding("features", 6, embedding_dim=8)
    assert projected(x).shape == (2, 3, 8) and projected.output_size == 8


def test_tokens_need_an_embedding_size():
    with pytest.raises(ValueError, match="token inputs need an embedding_dim"):
        InputEmbedding("tokens", 10)
    with pytest.raises(ValueError, match="input kind must be one of"):
        InputEmbedding("pixels", 10)
