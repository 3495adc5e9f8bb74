"""Exported graphs (ONNX in onnxruntime, torch.export) give what the task gives: full sequences of
mixed lengths, and one step at a time with the state held outside."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from seqnet.data import collate_sequences
from seqnet.errors import InputError
from seqnet.tasks import (
    Forecaster,
    LanguageModel,
    ManyToMany,
    ManyToOne,
    OneToMany,
    Seq2Seq,
    SequenceAutoencoder,
)
from seqnet.tasks.export import check_export, export_task, flat_state, runner
from tests.tasks.conftest import fit_one_batch

onnxruntime = pytest.importorskip("onnxruntime")


def mixed_batch(dm, count=6, **collate):
    """A batch of test examples whose lengths differ (the sorted split's ends)."""
    examples = dm.datasets["test"]
    picked = [examples[i] for i in (0, len(examples) - 1, 1, len(examples) // 2, 2, 3)][:count]
    return collate_sequences(picked, **collate)


@pytest.mark.parametrize(
    "encoder",
    [
        {"cell": "lstm", "hidden_size": 8, "bidirectional": True, "num_layers": 2},
        {
            "cell": "gru",
            "hidden_size": 8,
            "bidirectional": False,
            "residual": True,
            "layer_norm": True,
            "num_layers": 2,
        },
        {"cell": ["mingru", "lstm"], "hidden_size": 8, "bidirectional": True},
    ],
    ids=["bilstm2", "gru_residual_norm", "mingru_lstm_mixed"],
)
@pytest.mark.parametrize("format", ["onnx", "torch_export"])
def test_a_classifier_exports_its_forward_over_mixed_lengths(vowels, tmp_path, encoder, format):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder=encoder).eval()
    if format == "onnx" and encoder["cell"] == ["mingru", "lstm"]:
        with pytest.raises(InputError, match="mixes scan cells"):
            export_task(model, tmp_path / "m.onnx")
        encoder = {**encoder, "cell": "mingru"}  # the scan cells alone export through dynamo
        model = ManyToOne(vowels.spec, encoder=encoder).eval()
    batch = mixed_batch(vowels)
    assert len(set(batch.lengths.tolist())) > 2
    info = export_task(model, tmp_path / f"m.{format}", format, max_steps=int(batch.lengths.max()))
    inputs = batch.inputs
    if format == "torch_export":  # its torch.nn LSTM takes inputs padded to max_steps
        inputs = torch.nn.functional.pad(inputs, (0, 0, 0, int(batch.lengths.max()) - inputs.shape[1]))
    (got,) = runner(info)(inputs, batch.lengths)
    with torch.no_grad():
        expected = model(batch).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_a_tagger_and_a_language_model_export_per_step_outputs(toy_tags, toy_corpus, tmp_path):
    torch.manual_seed(0)
    tagger = ManyToMany(toy_tags.spec, encoder={"cell": "lstm", "hidden_size": 8}, crf=True).eval()
    batch = mixed_batch(toy_tags, target_pad_value=-100)
    (got,) = runner(export_task(tagger, tmp_path / "tagger.onnx"))(batch.inputs, batch.lengths)
    with torch.no_grad():
        np.testing.assert_allclose(got, tagger(batch).numpy(), atol=1e-4, rtol=1e-4)
    lm = LanguageModel(toy_corpus.spec, encoder={"cell": "gru", "hidden_size": 8}).eval()
    batch = mixed_batch(toy_corpus, target_pad_value=0)
    (got,) = runner(export_task(lm, tmp_path / "lm.onnx"))(batch.inputs, batch.lengths)
    with torch.no_grad():
        logits, _ = lm(batch.inputs, batch.lengths)
    np.testing.assert_allclose(got, logits.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("format", ["onnx", "torch_export"])
def test_a_language_models_step_graph_carries_the_state_as_next_token_logits_does(
    toy_corpus, tmp_path, format
):
    torch.manual_seed(0)
    encoder = {"cell": "lstm", "hidden_size": 8, "num_layers": 2, "learn_initial_state": True}
    model = LanguageModel(toy_corpus.spec, encoder=encoder).eval()
    with torch.no_grad():
        for p in model.encoder.initial_states.parameters():
            p.normal_()  # a learned start state, not zeros: the caller must get its values
    info = export_task(model, tmp_path / f"step.{format}", format, streaming=True)
    start = info["metadata"]["seqnet.initial_state"]
    assert [s["name"] for s in start] == ["state_in_0", "state_in_1", "state_in_2", "state_in_3"]
    state = [np.repeat(np.asarray(s["value"], dtype=np.float32)[:, None], 2, axis=1) for s in start]
    run = runner(info)
    tokens = torch.tensor([[5, 6, 7, 8, 9], [9, 8, 7, 6, 5]])
    carried = model.encoder.initial_state(2)
    with torch.no_grad():
        for t in range(tokens.shape[1]):
            logits, *state = run(tokens[:, t], *state)
            expected, carried = model.next_token_logits(tokens[:, t], carried)
            np.testing.assert_allclose(logits, expected.numpy(), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(state[0], flat_state(carried)[0].numpy(), atol=1e-5)
    if format == "onnx":
        props = {p.key: json.loads(p.value) for p in onnx.load(info["path"]).metadata_props}
        assert props["seqnet.initial_state"] == start and props["seqnet.streaming"] is True


def test_streaming_a_classifier_reads_the_head_after_every_step(vowels, tmp_path):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder={"cell": "minlstm", "hidden_size": 8, "bidirectional": False})
    info = export_task(model, tmp_path / "vad.onnx", streaming=True)
    assert check_export(model, info) < 1e-5  # stepped rows end where the full graph ends
    assert model.training  # the task is left as it was found


def test_what_cannot_export_is_refused_with_the_reason(vowels, tmp_path):
    bidirectional = ManyToOne(vowels.spec, encoder={"cell": "gru", "hidden_size": 8, "bidirectional": True})
    with pytest.raises(InputError, match="bidirectional"):
        export_task(bidirectional, tmp_path / "a.onnx", streaming=True)
    with pytest.raises(InputError, match="format must be one of"):
        export_task(bidirectional, tmp_path / "a.onnx", format="tflite")
    mean = ManyToOne(
        vowels.spec, encoder={"cell": "gru", "hidden_size": 8, "bidirectional": False}, pooling="mean"
    )
    with pytest.raises(InputError, match="pooling=last"):
        export_task(mean, tmp_path / "b.onnx", streaming=True)


def test_a_python_loop_cell_is_refused_in_the_full_graph_and_streams(vowels, tmp_path):
    import tests.nn.test_encoder_state  # noqa: F401  registers elman_plain, a CellLayer written step by step

    model = ManyToOne(vowels.spec, encoder={"cell": "elman_plain", "hidden_size": 8, "bidirectional": False})
    with pytest.raises(InputError, match="loops over time in Python"):
        export_task(model, tmp_path / "a.onnx")
    assert check_export(model, export_task(model, tmp_path / "s.onnx", streaming=True)) < 1e-5


def test_dynamic_quantization_writes_a_smaller_graph_that_still_agrees(vowels, tmp_path):
    from seqnet.tasks.export import quantize_dynamic

    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder={"cell": "lstm", "hidden_size": 64, "bidirectional": False})
    info = export_task(model, tmp_path / "m.onnx")  # onnxruntime quantizes LSTM and MatMul nodes
    result = quantize_dynamic(model, info["path"], vowels.test_dataloader())
    assert result["bytes"] < result["float_bytes"]
    test = result["test"]
    assert abs(test["accuracy_int8"] - test["accuracy_float"]) < 0.1


def onnx_greedy(encoder, decoder, inputs, lengths, meta):
    """Greedy decoding on the two ONNX graphs, as docs/export.md writes it."""
    start = dict(
        zip(
            [o.name for o in encoder.get_outputs()],
            encoder.run(None, {"inputs": inputs, "lengths": lengths}),
            strict=True,
        )
    )
    carried = {
        n.removesuffix("_in"): start[n.removesuffix("_in")]
        for n in (i.name for i in decoder.get_inputs())
        if n.endswith("_in")
    }
    fixed = {n: start[n] for n in ("memory", "keys", "mask") if n in start}
    limit = np.ceil(lengths * meta["seqnet.max_length_ratio"] + meta["seqnet.max_length_offset"]).astype(int)
    tokens = np.full(len(lengths), meta["seqnet.bos_id"])
    done, out = np.zeros(len(lengths), bool), []
    for step in range(int(limit.max())):
        logits, *after = decoder.run(
            None, {"tokens": tokens, **{f"{k}_in": v for k, v in carried.items()}, **fixed}
        )
        carried = dict(zip(carried, after, strict=True))
        tokens = np.where(step + 1 >= limit, meta["seqnet.eos_id"], logits.argmax(-1))  # the length bound
        tokens = np.where(done, meta["seqnet.pad_id"], tokens)
        out.append(tokens)
        done |= tokens == meta["seqnet.eos_id"]
        if done.all():
            break
    return np.stack(out, 1)


@pytest.mark.parametrize("decoder", [{"attention": "general", "input_feed": True}, {"attention": None}])
def test_a_seq2seq_models_two_graphs_decode_greedily_as_the_model_does(toy_pairs, tmp_path, decoder):
    torch.manual_seed(0)
    model = Seq2Seq(
        toy_pairs.spec, encoder={"cell": "gru", "hidden_size": 16, "bidirectional": True},
        decoder={"cell": "lstm", "hidden_size": 16, **decoder}, embedding_dim=8,
    )  # fmt: skip
    fit_one_batch(model, collate_sequences(toy_pairs.datasets["train"][:32], target_pad_value=0), steps=30)
    model.eval()
    info = export_task(model, tmp_path / "s2s.onnx")
    assert [Path(p).name for p in info["paths"]] == ["s2s.onnx", "s2s.decoder_step.onnx"]
    assert check_export(model, info) < 1e-4
    batch = mixed_batch(toy_pairs, target_pad_value=0)
    sessions = [onnxruntime.InferenceSession(p) for p in info["paths"]]
    got = onnx_greedy(*sessions, batch.inputs.numpy(), batch.lengths.numpy(), info["metadata"])
    with torch.no_grad():
        expected = model.decode(batch.inputs, batch.lengths, beam_size=1)
    for row, length in enumerate(expected.lengths.tolist()):
        assert got[row, :length].tolist() == expected.tokens[row, :length].tolist()
    if decoder["attention"]:  # the same two graphs as .pt2 files (source padded to max_steps)
        programs = export_task(model, tmp_path / "s2s.pt2", "torch_export", max_steps=16)
        assert check_export(model, programs) < 1e-4


@pytest.fixture(scope="module")
def load_series(tmp_path_factory):
    """A seasonal series, its load forecast from windows of 24 steps, no known-future covariates."""
    from seqnet.data import SequenceDataModule
    from seqnet.data.sources import ForecastSource
    from tests.toy_data import seasonal_csv

    path = seasonal_csv(tmp_path_factory.mktemp("series"))
    source = ForecastSource(path=path, target="load", window=24, horizon=6, season=12)
    dm = SequenceDataModule(source, batch_size=16)
    dm.setup()
    return dm


@pytest.mark.parametrize(
    ("style", "output"), [("direct", "point"), ("direct", "quantile"), ("autoregressive", "gaussian")]
)
@pytest.mark.parametrize("format", ["onnx", "torch_export"])
def test_a_forecaster_exports_its_forecast_and_intervals(load_series, tmp_path, style, output, format):
    torch.manual_seed(0)
    encoder = {"cell": "gru", "hidden_size": 8}
    model = Forecaster(load_series.spec, encoder=encoder, style=style, output=output).eval()
    info = export_task(model, tmp_path / f"forecaster.{format}", format)
    names = ["preds"] if output == "point" else ["preds", "lower80", "upper80", "lower95", "upper95"]
    assert info["outputs"] == names
    batch = next(iter(load_series.val_dataloader()))
    got = runner(info)(batch.inputs, batch.lengths)
    with torch.no_grad():
        expected = model(batch)
    for name, value in zip(names, got, strict=True):
        np.testing.assert_allclose(value, expected[name].numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("format", ["onnx", "torch_export"])
@pytest.mark.parametrize("style", ["direct", "autoregressive"])
def test_a_forecaster_with_known_future_covariates_takes_them_as_a_third_input(
    series, tmp_path, style, format
):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder={"cell": "gru", "hidden_size": 8}, style=style).eval()
    with torch.no_grad():  # a head that starts at zero forecasts the anchor whatever it reads
        for parameter in model.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    info = export_task(model, tmp_path / f"covariates.{format}", format)
    assert info["inputs"] == ["inputs", "lengths", "future"] and check_export(model, info) < 1e-4
    batch = next(iter(series.val_dataloader()))
    assert batch.future is not None
    (got,) = runner(info)(batch.inputs, batch.lengths, batch.future)
    with torch.no_grad():
        expected = model(batch)["preds"]
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4, rtol=1e-4)
    # the covariates matter: other values over the horizon, another forecast
    (moved,) = runner(info)(batch.inputs, batch.lengths, batch.future + 1.0)
    assert np.abs(moved - got).max() > 1e-3


def test_an_anomaly_detector_exports_its_scores_and_flags(tmp_path):
    from tests.tasks.test_autoencoder import spiked_module

    data = spiked_module(tmp_path)
    torch.manual_seed(0)
    model = SequenceAutoencoder(data.spec, encoder={"cell": "lstm", "hidden_size": 8}).eval()
    batch = collate_sequences(data.datasets["test"][:6])
    scores, flags = runner(export_task(model, tmp_path / "detector.onnx"))(batch.inputs, batch.lengths)
    with torch.no_grad():
        expected = model(batch)
    np.testing.assert_allclose(scores, expected["scores"].numpy(), atol=1e-5, rtol=1e-4)
    assert (flags == expected["flags"].numpy()).all()


@pytest.mark.parametrize("format", ["onnx", "torch_export"])
def test_a_conditioned_generator_exports_with_its_condition_as_an_input(toy_runs, tmp_path, format):
    """The full graph takes each row's condition; the streaming pair (start, step) generates as
    `next_token_logits` does from the condition's initial state."""
    torch.manual_seed(0)
    model = OneToMany(toy_runs.spec, encoder={"cell": "gru", "hidden_size": 8}).eval()
    batch = mixed_batch(toy_runs, target_pad_value=0)
    (logits,) = runner(export_task(model, tmp_path / f"full.{format}", format, max_steps=16))(
        *_padded(batch, format, 16), batch.conditions
    )
    with torch.no_grad():
        expected, _ = model(batch.inputs, batch.lengths, model.batch_state(batch))
    np.testing.assert_allclose(logits[:, : expected.shape[1]], expected.numpy(), atol=1e-4, rtol=1e-4)
    info = export_task(model, tmp_path / f"step.{format}", format, streaming=True)
    assert [Path(p).name for p in info["paths"]] == [f"step.{format}", f"step.start.{format}"]
    step, start = runner(info), runner(info, info["paths"][1])
    conditions = batch.conditions[:2]
    state = start(conditions)
    carried = model.batch_state(SimpleBatch(conditions))
    with torch.no_grad():
        for token in (2, 5, 6, 5):
            tokens = torch.full((2,), token)
            got, *state = step(tokens, conditions, *state)
            wanted, carried = model.next_token_logits(tokens, carried)
            np.testing.assert_allclose(got, wanted.numpy(), atol=1e-5, rtol=1e-5)


class SimpleBatch:
    """What `batch_state` reads of a batch: its conditions."""

    def __init__(self, conditions):
        self.conditions = conditions


def _padded(batch, format, steps):
    """A .pt2 of torch.nn RNN layers takes inputs padded to its max_steps."""
    inputs = batch.inputs
    if format == "torch_export":
        inputs = torch.nn.functional.pad(inputs, (0, steps - inputs.shape[1]))
    return inputs, batch.lengths
