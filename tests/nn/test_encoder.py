import re

import pytest
import torch
from torch import nn

from seqnet.nn import MERGE_MODES, RecurrentEncoder
from seqnet.nn.cells import TORCH_CELLS

CELLS = sorted(TORCH_CELLS)

LENGTHS = torch.tensor([7, 3, 5, 1])


def make_batch(input_size: int = 5, lengths: torch.Tensor = LENGTHS) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(len(lengths), int(lengths.max()), input_size, dtype=torch.float64)
    for i, length in enumerate(lengths):
        x[i, length:] = 99.0  # garbage in padding must never leak into results
    return x


def encoder(**kwargs) -> RecurrentEncoder:
    torch.manual_seed(1)
    return RecurrentEncoder(input_size=5, hidden_size=6, **kwargs).double().eval()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_sequence_alone_equals_sequence_in_padded_batch(cell, bidirectional, num_layers):
    enc = encoder(cell=cell, bidirectional=bidirectional, num_layers=num_layers)
    x = make_batch()
    out = enc(x, LENGTHS)
    for i, length in enumerate(LENGTHS.tolist()):
        alone = enc(x[i : i + 1, :length], torch.tensor([length]))
        torch.testing.assert_close(out.outputs[i, :length], alone.outputs[0])
        torch.testing.assert_close(out.last[i], alone.last[0])
        for layer_batch, layer_alone in zip(out.final_state, alone.final_state, strict=True):
            for s_batch, s_alone in zip(layer_batch, layer_alone, strict=True):
                torch.testing.assert_close(s_batch[:, i], s_alone[:, 0])
        assert torch.all(out.outputs[i, length:] == 0), "padded steps must be exactly zero"
    assert out.mask.sum(1).tolist() == LENGTHS.tolist()


def copy_fused_into_layerwise(fused: RecurrentEncoder, layerwise: RecurrentEncoder) -> None:
    """Map torch's multi-layer parameter names (weight_ih_l1_reverse) onto one module per layer."""
    state = {}
    for name, value in fused.state_dict().items():
        if name.startswith("layers.0.rnn."):
            param = name.removeprefix("layers.0.rnn.")
            base, layer_part = param.rsplit("_l", 1)
            layer, _, reverse = layer_part.partition("_")
            state[f"layers.{layer}.rnn.{base}_l0{'_' + reverse if reverse else ''}"] = value
        else:
            state[name] = value
    layerwise.load_state_dict(state)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("learn_initial_state", [False, True])
def test_layerwise_path_equals_fused_torch_call(cell, bidirectional, learn_initial_state):
    kwargs = dict(
        cell=cell,
        num_layers=3,
        bidirectional=bidirectional,
        learn_initial_state=learn_initial_state,
    )
    fused = encoder(**kwargs)
    layerwise = encoder(**kwargs, fuse_layers=False)
    assert fused.fused and not layerwise.fused
    if learn_initial_state:
        with torch.no_grad():
            for param in fused.initial_states.parameters():
                param.normal_()
    copy_fused_into_layerwise(fused, layerwise)
    x = make_batch()
    a, b = fused(x, LENGTHS), layerwise(x, LENGTHS)
    torch.testing.assert_close(a.outputs, b.outputs)
    torch.testing.assert_close(a.last, b.last)
    for sa, sb in zip(a.final_state, b.final_state, strict=True):
        for ta, tb in zip(sa, sb, strict=True):
            torch.testing.assert_close(ta, tb)


def test_layerwise_equals_fused_for_projected_lstm():
    fused = encoder(cell="lstm", num_layers=2, bidirectional=True, proj_size=3)
    layerwise = encoder(cell="lstm", num_layers=2, bidirectional=True, proj_size=3, fuse_layers=False)
    copy_fused_into_layerwise(fused, layerwise)
    x = make_batch()
    torch.testing.assert_close(fused(x, LENGTHS).outputs, layerwise(x, LENGTHS).outputs)
    assert fused.output_size == 6


def test_list_of_identical_cells_equals_uniform_stack():
    uniform = encoder(cell="gru", num_layers=2)
    listed = encoder(cell=["gru", "gru"])
    listed.load_state_dict(uniform.state_dict())
    mixed = encoder(cell=["gru", "gru"], fuse_layers=False)
    copy_fused_into_layerwise(uniform, mixed)
    x = make_batch()
    torch.testing.assert_close(uniform(x, LENGTHS).outputs, listed(x, LENGTHS).outputs)
    x = make_batch()
    torch.testing.assert_close(uniform(x, LENGTHS).outputs, mixed(x, LENGTHS).outputs)


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_equals_forward_plus_manually_reversed_pass(cell):
    enc = encoder(cell=cell, bidirectional=True)
    rnn_class, extra = TORCH_CELLS[cell]
    forward = rnn_class(5, 6, batch_first=True, **extra).double()
    backward = rnn_class(5, 6, batch_first=True, **extra).double()
    params = dict(enc.layers[0].rnn.named_parameters())
    with torch.no_grad():
        for name, param in forward.named_parameters():
            param.copy_(params[name])
            dict(backward.named_parameters())[name].copy_(params[name + "_reverse"])
    x = make_batch()
    out = enc(x, LENGTHS).outputs
    for i, length in enumerate(LENGTHS.tolist()):
        valid = x[i : i + 1, :length]
        fwd, _ = forward(valid)
        bwd, _ = backward(valid.flip(1))
        expected = torch.cat([fwd, bwd.flip(1)], dim=-1)[0]
        torch.testing.assert_close(out[i, :length], expected)


@pytest.mark.parametrize("merge", MERGE_MODES)
def test_merge_modes_combine_the_two_directions(merge):
    concat = encoder(cell="gru", bidirectional=True)
    merged = encoder(cell="gru", bidirectional=True, merge=merge)
    merged.load_state_dict(concat.state_dict())
    x = make_batch()
    both = concat(x, LENGTHS)
    result = merged(x, LENGTHS)
    f, b = both.outputs.split(6, dim=-1)
    expected = {"concat": both.outputs, "sum": f + b, "mean": (f + b) / 2, "mul": f * b}[merge]
    torch.testing.assert_close(result.outputs, expected)
    assert result.outputs.shape[-1] == merged.output_size == result.last.shape[-1]
    assert merged.output_size == (12 if merge == "concat" else 6)


def test_last_is_forward_last_valid_step_and_backward_first_step():
    enc = encoder(cell="lstm", bidirectional=True)
    out = enc(make_batch(), LENGTHS)
    for i, length in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(out.last[i, :6], out.outputs[i, length - 1, :6])
        torch.testing.assert_close(out.last[i, 6:], out.outputs[i, 0, 6:])
    # for a plain stack, the top layer's final hidden state is the same summary
    h, _ = out.final_state[-1]
    torch.testing.assert_close(out.last, torch.cat([h[0], h[1]], dim=-1))


@pytest.mark.parametrize(
    "kwargs, output_size",
    [
        (dict(cell=["lstm", "gru"]), 6),
        (dict(cell=["lstm", "gru", "rnn"], bidirectional=True), 12),
        (dict(cell=["gru", "lstm"], bidirectional=True, merge="sum"), 6),
        (dict(cell="lstm", num_layers=3, residual=True, layer_norm=True, dropout=0.2), 6),
        (dict(cell="gru", num_layers=2, bidirectional=True, residual=True), 12),
        (dict(cell="rnn_relu", num_layers=2, layer_norm=True, learn_initial_state=True), 6),
    ],
)
def test_stacks_report_their_output_size(kwargs, output_size):
    enc = encoder(**kwargs)
    out = enc(make_batch(), LENGTHS)
    assert enc.output_size == output_size
    assert out.outputs.shape == (4, 7, output_size)
    assert out.last.shape == (4, output_size)
    assert len(out.final_state) == enc.num_layers
    assert torch.all(out.outputs[~out.mask] == 0)


def test_residual_and_layer_norm_keep_padding_invariance():
    enc = encoder(cell=["lstm", "gru", "lstm"], residual=True, layer_norm=True, bidirectional=True)
    x = make_batch()
    out = enc(x, LENGTHS)
    alone = enc(x[2:3, :5], torch.tensor([5]))
    torch.testing.assert_close(out.outputs[2, :5], alone.outputs[0])


def test_residual_changes_the_output():
    plain = encoder(cell="gru", num_layers=2, fuse_layers=False)
    residual = encoder(cell="gru", num_layers=2, residual=True)
    residual.load_state_dict(plain.state_dict())
    x = make_batch()
    assert not torch.allclose(plain(x, LENGTHS).outputs, residual(x, LENGTHS).outputs)


def test_classic_init_sets_forget_bias_and_orthogonal_recurrent_weights():
    enc = RecurrentEncoder(4, 8, cell="lstm", init="classic")
    rnn = enc.layers[0].rnn
    torch.testing.assert_close(rnn.bias_ih_l0[8:16], torch.ones(8))
    assert torch.all(rnn.bias_ih_l0[:8] == 0) and torch.all(rnn.bias_hh_l0 == 0)
    for block in rnn.weight_hh_l0.detach().chunk(4):
        torch.testing.assert_close(block @ block.T, torch.eye(8), atol=1e-5, rtol=0)


def test_learned_initial_state_is_trained():
    enc = encoder(cell="lstm", learn_initial_state=True, bidirectional=True, num_layers=2)
    enc(make_batch(), LENGTHS).outputs.sum().backward()
    grads = [p.grad for p in enc.initial_states.parameters()]
    assert len(grads) == 4  # (h, c) of two layers
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_lengths_default_to_full_sequences_and_may_live_on_any_device():
    enc = encoder(cell="gru")
    x = make_batch()[:, :3].contiguous()
    full = enc(x)
    torch.testing.assert_close(full.outputs, enc(x, torch.tensor([3, 3, 3, 3])).outputs)
    torch.testing.assert_close(full.outputs, enc(x, [3, 3, 3, 3]).outputs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(cell="gru", proj_size=2), "proj_size works only with cell='lstm', got cell='gru'"),
        (dict(cell=["lstm", "gru"], proj_size=2), "proj_size works only with cell='lstm'"),
        (dict(cell="lstm", proj_size=8), "proj_size must be smaller than hidden_size"),
        (dict(cell="transformer"), "unknown cell 'transformer'"),
        (dict(cell=["lstm", "gru"], num_layers=3), "cell lists 2 cells"),
        (dict(cell=[]), "cell is an empty list"),
        (dict(merge="max", bidirectional=True), "merge must be one of"),
        (dict(dropout=1.5, num_layers=2), "dropout must be in [0, 1)"),
        (dict(num_layers=0), "num_layers must be a whole number of at least 1, got 0"),
        (dict(init="xavier"), "init must be one of"),
    ],
)
def test_invalid_arguments_fail_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        RecurrentEncoder(input_size=5, hidden_size=6, **kwargs)


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        (dict(hidden_size="abc"), "hidden_size must be a whole number, got 'abc'"),
        (dict(hidden_size=0), "input_size and hidden_size must be positive"),
        (dict(hidden_size=6, num_layers="2"), "num_layers must be a whole number of at least 1, got '2'"),
        (dict(hidden_size=6, dropout="high"), "dropout must be a number in [0, 1), got 'high'"),
    ],
)
def test_wrong_types_are_named_at_construction(sizes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        RecurrentEncoder(input_size=5, **sizes)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        (
            (2, 3, 4),
            "the encoder expects (B, T, I) = (batch, steps, features) with I = 5, got shape (2, 3, 4)",
        ),
        ((3, 5), "got shape (3, 5); add the batch dimension with x.unsqueeze(0)"),
    ],
)
def test_inputs_of_the_wrong_shape_name_the_shape_expected(shape, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        RecurrentEncoder(5, 6)(torch.zeros(shape))
    with pytest.raises(ValueError, match=re.escape("expects (B, I) = (batch, features), one time step")):
        RecurrentEncoder(5, 6).step(torch.zeros(2, 4))


def test_useless_settings_warn():
    with pytest.warns(UserWarning, match="dropout acts between layers"):
        RecurrentEncoder(5, 6, dropout=0.5)
    with pytest.warns(UserWarning, match="merge='sum' combines the two directions"):
        RecurrentEncoder(5, 6, merge="sum")


@pytest.mark.parametrize(
    "lengths, message",
    [
        (torch.tensor([7, -1, 5, 1]), "sequence 1 in the batch has a negative length -1"),
        (torch.tensor([8, 3, 5, 1]), "a length of 8 exceeds the padded batch's 7 steps"),
        (torch.tensor([7, 3]), r"lengths must have shape \(B,\) = \(4,\)"),
    ],
)
def test_bad_lengths_get_a_clear_error(lengths, message):
    with pytest.raises(ValueError, match=message):
        encoder(cell="lstm")(make_batch(), lengths)


def test_gradients_flow_to_every_parameter():
    enc = encoder(cell=["lstm", "gru"], bidirectional=True, residual=True, layer_norm=True)
    enc(make_batch(), LENGTHS).outputs.pow(2).sum().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    enc = encoder(cell="lstm", bidirectional=True, num_layers=2).float()
    x = make_batch().float()
    cpu = enc(x, LENGTHS).outputs
    gpu = enc.cuda()(x.cuda(), LENGTHS.cuda()).outputs.cpu()
    torch.testing.assert_close(cpu, gpu, atol=1e-4, rtol=1e-4)
    assert isinstance(enc.layers[0].rnn, nn.LSTM)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_on_cuda_matches_the_cpu(cell):
    enc = encoder(cell=cell, num_layers=2).float()
    x = make_batch().float()[:, 0]  # (B, I)
    cpu, cpu_state = enc.step(x)
    gpu, gpu_state = enc.cuda().step(x.cuda())
    torch.testing.assert_close(cpu, gpu.cpu(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(cpu_state.top, gpu_state.top.cpu(), atol=1e-4, rtol=1e-4)
