"""State in, state out, one step at a time: chunked = whole, step = forward, empty rows pass state."""

import pytest
import torch

from seqnet.nn import CellLayer, EncoderState, RecurrentEncoder, register_cell
from seqnet.nn.cells import TorchRecurrentLayer

CONFIGS = [
    dict(cell="lstm"),
    dict(cell="gru", num_layers=2),
    dict(cell="rnn"),
    dict(cell="rnn_relu", num_layers=2, fuse_layers=False),
    dict(cell=["lstm", "gru", "rnn"]),
    dict(cell="lstm", num_layers=2, proj_size=3),
    dict(cell=["gru", "lstm"], residual=True, layer_norm=True),
    dict(cell="lstm", num_layers=2, learn_initial_state=True),
    dict(cell=["elman_plain", "gru"]),
]


class PlainElman(CellLayer):
    """Elman cell written with plain tensor ops: h_t = tanh(W x_t + U h_{t-1} + b)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.state_sizes = (hidden_size,)
        self.input_weights = torch.nn.Linear(input_size, hidden_size)
        self.recurrent_weights = torch.nn.Linear(hidden_size, hidden_size, bias=False)

    def cell(self, x_t, state):
        (h,) = state
        h = torch.tanh(self.input_weights(x_t) + self.recurrent_weights(h))
        return h, (h,)


register_cell("elman_plain", PlainElman)


def make_encoder(seed: int = 1, **kwargs) -> RecurrentEncoder:
    torch.manual_seed(seed)
    enc = RecurrentEncoder(input_size=5, hidden_size=6, **kwargs).double().eval()
    with torch.no_grad():
        for param in enc.initial_states.parameters():
            param.normal_()
    return enc


def close(a, b) -> None:
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def assert_states_close(a: EncoderState, b: EncoderState) -> None:
    assert len(a) == len(b)
    for layer_a, layer_b in zip(a, b, strict=True):
        for ta, tb in zip(layer_a, layer_b, strict=True):
            close(ta, tb)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chunks_with_carried_state_equal_one_call(kwargs, seed):
    enc = make_encoder(**kwargs)
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 21, (6,), generator=generator)
    steps = int(lengths.max())
    x = torch.randn(6, steps, 5, generator=generator, dtype=torch.float64)
    whole = enc(x, lengths)

    state, pieces, start = None, [], 0
    while start < steps:
        size = int(torch.randint(1, 8, (1,), generator=generator))
        chunk_lengths = (lengths - start).clamp(0, size)  # 0 for rows that already ended
        out = enc(x[:, start : start + size], chunk_lengths, state)
        pieces.append(out.outputs)
        state, start = out.final_state, start + size
    close(torch.cat(pieces, dim=1), whole.outputs)
    assert_states_close(state, whole.final_state)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_step_by_step_equals_forward(kwargs):
    enc = make_encoder(**kwargs)
    x = torch.randn(3, 9, 5, dtype=torch.float64)
    whole = enc(x)
    state, outputs = None, []
    for t in range(9):
        y, state = enc.step(x[:, t], state)
        outputs.append(y)
    close(torch.stack(outputs, dim=1), whole.outputs)
    assert_states_close(state, whole.final_state)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_drops_out_between_stacked_layers_while_training(cell):
    """With dropout 1 the second layer reads zeros while training, in forward and step alike."""
    torch.manual_seed(0)
    layer = TorchRecurrentLayer(cell, 5, 6, num_layers=2, dropout=1.0).double()
    x, lengths = torch.randn(3, 4, 5, dtype=torch.float64), torch.full((3,), 4)
    start = tuple(torch.randn(2, 3, size, dtype=torch.float64) for size in layer.state_sizes)
    whole, final = layer(x, lengths, start)
    state, outputs = start, []
    for t in range(4):
        y, state = layer.step(x[:, t], state)
        outputs.append(y)
    close(torch.stack(outputs, dim=1), whole)
    for stepped, at_once in zip(state, final, strict=True):
        close(stepped, at_once)
    assert not torch.allclose(layer.eval()(x, lengths, start)[0], whole)  # the layer did drop out


def test_a_bidirectional_layer_refuses_step():
    layer = TorchRecurrentLayer("gru", 5, 6, bidirectional=True)
    with pytest.raises(ValueError, match="backward direction needs the end"):
        layer.step(torch.randn(2, 5), (torch.zeros(2, 2, 6),))


def test_rows_of_length_zero_keep_their_state_and_output_zeros():
    enc = make_encoder(cell=["lstm", "gru"])
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    start = enc(torch.randn(3, 2, 5, dtype=torch.float64)).final_state
    out = enc(x, torch.tensor([4, 0, 2]), start)
    for layer_out, layer_start in zip(out.final_state, start, strict=True):
        for t_out, t_start in zip(layer_out, layer_start, strict=True):
            assert torch.equal(t_out[:, 1], t_start[:, 1])
            assert not torch.allclose(t_out[:, 0], t_start[:, 0])
    assert torch.all(out.outputs[1] == 0) and torch.all(out.last[1] == 0)
    everything_ended = enc(x, torch.zeros(3, dtype=torch.int64), start)
    assert everything_ended.final_state is start and torch.all(everything_ended.outputs == 0)


def test_the_final_state_goes_back_in_per_layer_and_direction():
    enc = make_encoder(cell=["lstm", "gru"], bidirectional=True)
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    out = enc(x)
    assert [tuple(t.shape) for layer in out.final_state for t in layer] == [(2, 2, 6)] * 3
    again = enc(x, state=out.final_state)
    assert not torch.allclose(again.outputs, out.outputs)  # the state was used
    with pytest.raises(ValueError, match="a batch of 1"):
        enc(x, state=enc.initial_state(1))


def test_bidirectional_encoders_refuse_step_and_say_why():
    enc = make_encoder(cell="gru", bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional: its backward direction starts from the end"):
        enc.step(torch.randn(2, 5, dtype=torch.float64))


def test_state_operations_for_beams_streams_and_tbptt():
    enc = make_encoder(cell=["lstm", "gru"], learn_initial_state=True)
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    state = enc(x).final_state
    assert state.batch_size == 3 and state.top.shape == (1, 3, 6)

    detached = state.detach()
    assert all(not t.requires_grad for layer in detached for t in layer)
    assert state.top.requires_grad

    picked = state.index_select(torch.tensor([2, 2, 0]))
    assert picked.batch_size == 3
    assert torch.equal(picked.top[:, 0], state.top[:, 2]) and torch.equal(picked.top[:, 2], state.top[:, 0])

    initial = enc.initial_state(3, dtype=torch.float64)
    for rows in (torch.tensor([False, True, False]), torch.tensor([1])):
        reset = state.reset(rows)
        assert torch.all(reset.top[:, 1] == 0) and torch.equal(reset.top[:, 0], state.top[:, 0])
        learned = state.reset(rows, initial)
        for layer_reset, layer_initial in zip(learned, initial, strict=True):
            for t_reset, t_initial in zip(layer_reset, layer_initial, strict=True):
                assert torch.equal(t_reset[:, 1], t_initial[:, 1])
    assert state.to(torch.float32).top.dtype == torch.float32


def test_a_custom_cell_equals_torch_elman_with_the_same_weights_in_both_directions():
    custom = make_encoder(cell="elman_plain", bidirectional=True)
    reference = make_encoder(cell="rnn", bidirectional=True)
    rnn = reference.layers[0].rnn
    with torch.no_grad():
        for layer, suffix in (
            (custom.layers[0].forward_layer, ""),
            (custom.layers[0].backward_layer, "_reverse"),
        ):
            layer.input_weights.weight.copy_(getattr(rnn, f"weight_ih_l0{suffix}"))
            layer.input_weights.bias.copy_(
                getattr(rnn, f"bias_ih_l0{suffix}") + getattr(rnn, f"bias_hh_l0{suffix}")
            )
            layer.recurrent_weights.weight.copy_(getattr(rnn, f"weight_hh_l0{suffix}"))
    lengths = torch.tensor([6, 2, 4])
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    a, b = custom(x, lengths), reference(x, lengths)
    close(a.outputs, b.outputs)
    close(a.last, b.last)
    assert_states_close(a.final_state, b.final_state)


def test_a_cell_named_by_its_import_path_is_registered_on_first_use():
    enc = RecurrentEncoder(5, 6, cell="tests.nn.test_encoder_state.PlainElman")
    assert isinstance(enc.layers[0], PlainElman)
    with pytest.raises(ValueError, match=r"neither registered .* nor importable"):
        RecurrentEncoder(5, 6, cell="no_such_module.Cell")
    with pytest.raises(ValueError, match="unknown cell 'transformer'; choose from"):
        RecurrentEncoder(5, 6, cell="transformer")
