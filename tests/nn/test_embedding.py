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


def words_with_chars() -> torch.Tensor:
    """(2, 3, 2 + 4): word id, casing, characters; the second row's last step is padding."""
    return torch.tensor(
        [
            [[5, 3, 4, 5, 6, 0], [1, 5, 7, 8, 0, 0], [6, 4, 9, 9, 9, 9]],
            [[7, 3, 4, 4, 0, 0], [8, 3, 5, 0, 0, 0], [0, 0, 0, 0, 0, 0]],
        ]
    )


def test_words_with_characters_read_word_casing_and_characters():
    torch.manual_seed(0)
    layer = InputEmbedding("tokens", 10, embedding_dim=6, num_chars=12)
    inputs = words_with_chars()
    out = layer(inputs)
    assert out.shape == (2, 3, layer.output_size) and layer.output_size == 6 + 8 + 50
    assert torch.all(out[1, 2] == 0)  # a padded step is zeros, characters included
    # an unknown word (id 1) still differs from another unknown word by its characters
    other = inputs.clone()
    other[0, 1, 2:4] = torch.tensor([9, 4])
    assert not torch.allclose(layer(other)[0, 1], out[0, 1])
    # each word is read on its own: changing one word leaves the others' vectors as they were
    assert torch.equal(layer(other)[0, [0, 2]], out[0, [0, 2]])


def test_character_features_off_reads_the_word_ids_alone():
    torch.manual_seed(0)
    layer = InputEmbedding("tokens", 10, embedding_dim=6, num_chars=12, char_features=False)
    inputs = words_with_chars()
    assert layer.output_size == 6
    assert torch.equal(layer(inputs), layer.layer(inputs[..., 0]))


@pytest.mark.parametrize("num_chars", [0, 12])
def test_word_dropout_reads_words_as_unknown_in_training_only(num_chars):
    layer = InputEmbedding(
        "tokens", 10, embedding_dim=6, num_chars=num_chars, char_features=False, word_dropout=0.5, unk_id=1
    )
    inputs = words_with_chars() if num_chars else words_with_chars()[..., 0]
    words = inputs if not num_chars else inputs[..., 0]
    torch.manual_seed(0)
    dropped = layer._drop_words(inputs)
    dropped_words = dropped if not num_chars else dropped[..., 0]
    changed = dropped_words != words
    assert changed.any() and torch.all(dropped_words[changed] == 1)
    assert torch.all(dropped_words[words == 0] == 0)  # padding is never dropped
    if num_chars:
        assert torch.equal(dropped[..., 1:], inputs[..., 1:])  # casing and characters kept
    layer.eval()
    assert torch.equal(layer(inputs), layer.layer(words))


def test_word_dropout_is_a_share_of_token_inputs():
    with pytest.raises(ValueError, match=r"word_dropout is a share"):
        InputEmbedding("tokens", 10, embedding_dim=4, word_dropout=1.0)
    with pytest.raises(ValueError, match="these inputs are features"):
        InputEmbedding("features", 3, word_dropout=0.1)
