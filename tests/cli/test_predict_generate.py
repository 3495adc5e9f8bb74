"""seqnet-predict and seqnet-generate from a checkpoint alone, as a user runs them."""

import json

import numpy as np
import pytest
import torch

from seqnet.data import collate_sequences
from seqnet.data.prediction import read_prediction_inputs
from seqnet.tasks import Forecaster, ManyToMany, ManyToOne, Seq2Seq
from tests.commands import run_cli
from tests.toy_data import seasonal_csv, toy_reversal_pairs


def assert_ok(result):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def train(tmp_path, *overrides) -> str:
    run_dir = tmp_path / "run"
    assert_ok(run_cli("seqnet-train", "debug=fast", *overrides, f"hydra.run.dir={run_dir}", cwd=tmp_path))
    return str(run_dir / "checkpoints" / "last.ckpt")


@pytest.fixture(scope="module")
def text_classifier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    lines = [
        f"{'great' if i % 2 else 'other'}\t{'tasty soup' if i % 2 else 'cold fries'} {i}" for i in range(40)
    ]
    (folder / "train.tsv").write_text("\n".join(lines) + "\n")
    (folder / "test.tsv").write_text("great\ttasty dumplings\nother\tcold soup\n")
    return folder, train(
        folder, "data=text_tsv", "data.source.train_path=train.tsv", "data.source.test_path=test.tsv"
    )


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conll")
    sentence = "The\tB-ORG\nUN\tI-ORG\nmet\tO\nin\tO\nParis\tB-LOC\n\n"
    (folder / "train.conll").write_text(sentence * 30)
    (folder / "test.conll").write_text(sentence * 3)
    checkpoint = train(
        folder, "data=conll", "data.source.train_path=train.conll", "data.source.test_path=test.conll",
        "model=many_to_many", "model.crf=true",
    )  # fmt: skip
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert {"test/acc", "test/entity_precision", "test/entity_recall", "test/entity_f1"} <= set(metrics)
    return folder, checkpoint


def in_memory(model, path, spec=None):
    inputs = read_prediction_inputs(path, model.spec)
    batch = collate_sequences([one.item() for one in inputs], pad_value=model.spec.pad_id)
    with torch.no_grad():
        return inputs, model.predict_step(batch)


def predicted(folder, checkpoint, name: str, text: str):
    """Write `text` to folder/name, run seqnet-predict on it -> (the process, the JSONL records)."""
    (folder / name).write_text(text)
    result = run_cli(
        "seqnet-predict", f"ckpt_path={checkpoint}", f"input={name}", "output=out.jsonl", cwd=folder
    )
    assert_ok(result)
    return result, [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]


def test_predicted_labels_and_probabilities_equal_the_in_memory_model(text_classifier):
    folder, checkpoint = text_classifier
    result, written = predicted(
        folder, checkpoint, "reviews.txt", "tasty soup again\ncold fries\nsomething unheard of\n"
    )
    assert "3 predictions written to out.jsonl" in result.stdout
    (unknown,) = [line for line in result.stdout.splitlines() if "read as <unk>" in line]
    assert "input tokens are not in the model's vocabulary" in unknown and "'unheard'" in unknown
    model = ManyToOne.load_from_checkpoint(checkpoint)
    _, expected = in_memory(model, folder / "reviews.txt")
    assert [r["input"] for r in written] == ["tasty soup again", "cold fries", "something unheard of"]
    assert [r["label"] for r in written] == model.label_names(expected["preds"])
    probs = torch.tensor([[r["probs"][name] for name in model.spec.class_names] for r in written])
    torch.testing.assert_close(probs, expected["probs"], atol=1e-6, rtol=0)

    assert_ok(
        run_cli(
            "seqnet-predict", f"ckpt_path={checkpoint}", "input=reviews.txt", "output=out.csv", cwd=folder
        )
    )
    header, *rows = (folder / "out.csv").read_text().splitlines()
    assert header == "index,input,label,prob_great,prob_other" and len(rows) == 3


def test_predicted_tags_equal_the_in_memory_model(tagger):
    folder, checkpoint = tagger
    (folder / "new.conll").write_text("The\nUN\nmet\n\nin\nParis\nagain\n")
    assert_ok(
        run_cli(
            "seqnet-predict", f"ckpt_path={checkpoint}", "input=new.conll", "output=tags.jsonl", cwd=folder
        )
    )
    written = [json.loads(line) for line in (folder / "tags.jsonl").read_text().splitlines()]
    model = ManyToMany.load_from_checkpoint(checkpoint)
    _, expected = in_memory(model, folder / "new.conll")
    assert [r["tokens"] for r in written] == [["The", "UN", "met"], ["in", "Paris", "again"]]
    assert [r["tags"] for r in written] == model.label_names(expected["preds"])
    assert all(len(r["probs"]) == len(r["tags"]) for r in written)


def test_generate_samples_reproducibly_and_refuses_a_classifier(tmp_path, text_classifier):
    (tmp_path / "corpus.txt").write_text("to be or not to be, that is the question.\n" * 30)
    checkpoint = train(
        tmp_path, "model=language_model", "data=text_corpus", "data.source.seq_len=16",
        "data.source.train_paths=[corpus.txt]", "data.source.test_paths=[corpus.txt]",
    )  # fmt: skip
    args = (
        "seqnet-generate",
        f"ckpt_path={checkpoint}",
        "prompt=to be",
        "n=2",
        "max_new_tokens=12",
        "seed=3",
    )
    first, second = (
        run_cli(*args, "output=a.jsonl", cwd=tmp_path),
        run_cli(*args, "output=b.jsonl", cwd=tmp_path),
    )
    assert_ok(first)
    samples = [json.loads(line)["text"] for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(samples) == 2 and all(s.startswith("to be") and len(s) <= len("to be") + 12 for s in samples)
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()
    assert "--- sample 1" in second.stdout

    _, classifier = text_classifier
    refused = run_cli("seqnet-generate", f"ckpt_path={classifier}", cwd=tmp_path)
    assert refused.returncode != 0
    assert "holds a ManyToOne model, but seqnet-generate needs a LanguageModel checkpoint" in refused.stderr
    refused = run_cli("seqnet-predict", f"ckpt_path={checkpoint}", "input=corpus.txt", cwd=tmp_path)
    assert (
        "holds a LanguageModel model, but seqnet-predict needs a model that can predict: " in refused.stderr
    )
    assert "ManyToOne or " in refused.stderr and "OneToMany" not in refused.stderr
    refused = run_cli("seqnet-generate", f"ckpt_path={checkpoint}", "condition=female", cwd=tmp_path)
    assert "holds a model trained without a condition: drop condition=" in refused.stderr


def test_a_one_to_many_checkpoint_generates_for_a_named_condition(tmp_path):
    checkpoint = train(tmp_path, "experiment=names_by_gender")
    args = ("seqnet-generate", f"ckpt_path={checkpoint}", "condition=female", "n=3", "seed=0")
    first, second = run_cli(*args, "output=a.jsonl", cwd=tmp_path), run_cli(*args, cwd=tmp_path)
    assert_ok(first)
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["condition"] == "female" for r in records)
    assert [f"--- sample {i}\n{r['text']}" in second.stdout for i, r in enumerate(records)] == [True] * 3
    unknown = run_cli("seqnet-generate", f"ckpt_path={checkpoint}", "condition=robot", cwd=tmp_path)
    assert unknown.returncode != 0
    assert "unknown condition 'robot'; this model knows ['female', 'male']" in unknown.stderr
    missing = run_cli("seqnet-generate", f"ckpt_path={checkpoint}", cwd=tmp_path)
    assert "pass condition=<one of ['female', 'male']>" in missing.stderr


@pytest.fixture(scope="module")
def transliterator(tmp_path_factory):
    """data=parallel_tsv on your own pairs: letters -> reversed capitals (char -> word)."""
    folder = tmp_path_factory.mktemp("pairs")
    for name, count, seed in (("train", 200, 0), ("test", 20, 1)):
        lines = [f"{''.join(a)}\t{' '.join(b)}" for a, b in toy_reversal_pairs(count, seed)]
        (folder / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    checkpoint = train(
        folder, "data=parallel_tsv", "data.source.train_path=train.tsv", "data.source.test_path=test.tsv",
        "data.source.source_tokenizer=char", "model=seq2seq", "model/encoder=bigru",
        "model.decoder.hidden_size=16", "model.encoder.hidden_size=8", "model.beam_size=2",
    )  # fmt: skip
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert {"test/seq_acc", "test/ter", "test/bleu", "test/loss"} <= set(metrics)
    return folder, checkpoint


def test_seq2seq_transliterates_a_file_as_the_in_memory_model_does(transliterator):
    folder, checkpoint = transliterator
    _, written = predicted(folder, checkpoint, "words.txt", "abc\nhgfe\nzz\n")
    model = Seq2Seq.load_from_checkpoint(checkpoint)
    _, expected = in_memory(model, folder / "words.txt")
    assert [r["input"] for r in written] == ["abc", "hgfe", "zz"]
    assert [r["output"] for r in written] == expected["text"]
    assert [r["output_tokens"] for r in written] == [text.split() for text in expected["text"]]
    assert_ok(
        run_cli("seqnet-predict", f"ckpt_path={checkpoint}", "input=words.txt", "output=out.csv", cwd=folder)
    )
    header, *rows = (folder / "out.csv").read_text().splitlines()
    assert header == "index,input,output" and len(rows) == 3


def test_the_exported_seq2seq_graphs_reproduce_seqnet_predict(transliterator):
    """seqnet-export's encoder and decoder-step graphs, decoded by the greedy loop of
    docs/export.md on onnxruntime from the ids seqnet-predict reads, give the tokens it writes."""
    folder = transliterator[0] / "greedy"  # the same pairs, decoded greedily (beam 1, the default)
    folder.mkdir()
    for split in ("train", "test"):
        (folder / f"{split}.tsv").write_text((transliterator[0] / f"{split}.tsv").read_text())
    checkpoint = train(
        folder, "data=parallel_tsv", "data.source.train_path=train.tsv", "data.source.test_path=test.tsv",
        "data.source.source_tokenizer=char", "model=seq2seq", "model/encoder=bigru",
        "model.decoder.hidden_size=16", "model.encoder.hidden_size=8",
    )  # fmt: skip
    assert_exported_graphs_decode_as_predict(folder, checkpoint, ["abc", "hgfe", "zz", "dcba"])


@pytest.mark.slow
def test_the_exported_g2p_graphs_reproduce_seqnet_predict_on_cmudict_words(tmp_path):
    """Issue 37's check on the grapheme-to-phoneme experiment (one batch of training: the check is
    the decoding, not the phonemes)."""
    checkpoint = train(tmp_path, "experiment=cmudict_g2p")
    words = ["seqnet", "recurrent", "network", "gradient", "vanishing", "phoneme", "zebra", "a"]
    assert_exported_graphs_decode_as_predict(tmp_path, checkpoint, words)


def assert_exported_graphs_decode_as_predict(folder, checkpoint, words):
    onnx, onnxruntime = pytest.importorskip("onnx"), pytest.importorskip("onnxruntime")
    from tests.tasks.test_export import onnx_greedy

    _, written = predicted(folder, checkpoint, "words.txt", "\n".join(words) + "\n")
    assert_ok(run_cli("seqnet-export", f"ckpt_path={checkpoint}", "output=s2s.onnx", cwd=folder))
    encoder, decoder = (
        onnxruntime.InferenceSession(folder / n) for n in ("s2s.onnx", "s2s.decoder_step.onnx")
    )
    meta = {p.key: json.loads(p.value) for p in onnx.load(folder / "s2s.onnx").metadata_props}
    model = Seq2Seq.load_from_checkpoint(checkpoint)
    inputs = read_prediction_inputs(folder / "words.txt", model.spec)  # the ids seqnet-predict reads
    batch = collate_sequences([one.item() for one in inputs], pad_value=model.spec.pad_id)
    ids = onnx_greedy(encoder, decoder, batch.inputs.numpy(), batch.lengths.numpy(), meta)
    vocabulary, specials = (
        meta["seqnet.target_vocabulary"],
        {meta[f"seqnet.{k}_id"] for k in ("bos", "eos", "pad")},
    )
    decoded = [[vocabulary[i] for i in row if i not in specials] for row in ids.tolist()]
    assert decoded == [record["output_tokens"] for record in written]


@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast")
    seasonal_csv(folder)  # load.csv: load, boost (known ahead), noise
    checkpoint = train(
        folder, "data=csv_series", "data.source.path=load.csv", "data.source.target=load",
        "data.source.future_covariates=[boost]", "data.source.window=24", "data.source.horizon=6",
        "data.source.season=12", "model=forecaster", "model.output=gaussian",
    )  # fmt: skip
    return folder, checkpoint


def test_a_forecaster_writes_the_next_steps_with_intervals_past_the_end_of_a_csv(forecaster):
    folder, checkpoint = forecaster
    rows = (folder / "load.csv").read_text().splitlines()
    future = "".join(f",{i % 2},\n" for i in range(6))  # empty targets, the covariate filled in
    text = "\n".join(rows[:101]) + "\n" + future  # header + 100 rows of history
    _, written = predicted(folder, checkpoint, "recent.csv", text)
    model = Forecaster.load_from_checkpoint(checkpoint)
    _, expected = in_memory(model, folder / "recent.csv")
    steps = written[0]["forecast"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert [s["line"] for s in steps] == list(range(102, 108))  # the rows that hold their covariates
    assert [s["load"] for s in steps] == pytest.approx(expected["preds"][0, :, 0].tolist(), abs=1e-5)
    for s in steps:
        assert s["load_lower95"] < s["load_lower80"] < s["load"] < s["load_upper80"] < s["load_upper95"]
    assert_ok(
        run_cli("seqnet-predict", f"ckpt_path={checkpoint}", "input=recent.csv", "output=out.csv", cwd=folder)
    )
    header, *lines = (folder / "out.csv").read_text().splitlines()
    assert header.startswith("index,step,line,load,") and len(lines) == 6


def test_a_forecast_without_its_known_future_covariates_names_the_rows_to_add(forecaster):
    folder, checkpoint = forecaster
    rows = (folder / "load.csv").read_text().splitlines()
    (folder / "short.csv").write_text("\n".join(rows[:101]) + "\n,1,\n,0,\n")  # 2 of 6 future rows
    result = run_cli("seqnet-predict", f"ckpt_path={checkpoint}", "input=short.csv", cwd=folder)
    assert result.returncode == 2
    assert "needs the known-future covariates ['boost']" in result.stderr
    assert "add rows 102-107" in result.stderr and "empty ['load']" in result.stderr


def test_an_anomaly_detector_scores_every_step_of_a_csv(tmp_path):
    seasonal_csv(tmp_path)  # load.csv: load, boost, noise; 240 rows
    checkpoint = train(
        tmp_path, "data=csv_anomaly", "data.source.path=load.csv", "data.source.columns=[load]",
        "data.source.label=null", "data.source.train_end=160", "data.source.window=40", "model=autoencoder",
    )  # fmt: skip
    _, written = predicted(tmp_path, checkpoint, "recent.csv", (tmp_path / "load.csv").read_text())
    assert [r["start"] for r in written] == [0, 40, 80, 120, 160, 200]
    assert sum(len(r["scores"]) for r in written) == 240 and all(
        f in (0, 1) for r in written for f in r["flags"]
    )
    assert_ok(
        run_cli(
            "seqnet-predict", f"ckpt_path={checkpoint}", "input=recent.csv", "output=out.csv", cwd=tmp_path
        )
    )
    header, *lines = (tmp_path / "out.csv").read_text().splitlines()
    assert header == "step,score,flag" and len(lines) == 240 and lines[-1].startswith("239,")


@pytest.mark.parametrize("program", ["seqnet-generate", "seqnet-predict", "seqnet-export"])
def test_help_lists_the_commands_settings_not_the_training_groups(program, tmp_path):
    result = run_cli(program, "--help", cwd=tmp_path)
    assert result.returncode == 0 and f"Usage: {program} ckpt_path=" in result.stdout
    assert "ckpt_path: ???" in result.stdout
    assert "experiment:" not in result.stdout and "model/encoder:" not in result.stdout


def test_a_series_with_a_date_column_gets_forecasts_with_dates(tmp_path):
    """The date column is found by name, its frequency inferred (monthly), and the forecast steps
    after the file's last row carry the months that follow it, in the CSV and the JSONL."""
    months = [f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in range(120)]
    values = [f"{100 + 10 * np.sin(2 * np.pi * i / 12):.3f}" for i in range(120)]
    (tmp_path / "sales.csv").write_text(
        "month,sales\n" + "".join(f"{m},{v}\n" for m, v in zip(months, values, strict=True))
    )
    checkpoint = train(
        tmp_path, "data=csv_series", "data.source.path=sales.csv", "data.source.target=sales",
        "data.source.window=24", "data.source.horizon=3", "model=forecaster",
    )  # fmt: skip
    model = Forecaster.load_from_checkpoint(checkpoint)
    assert (model.spec.time_column, model.spec.frequency) == ("month", "1M")
    _, written = predicted(tmp_path, checkpoint, "recent.csv", (tmp_path / "sales.csv").read_text())
    assert [s["month"] for s in written[0]["forecast"]] == ["2000-01", "2000-02", "2000-03"]
    assert_ok(
        run_cli(
            "seqnet-predict", f"ckpt_path={checkpoint}", "input=recent.csv", "output=out.csv", cwd=tmp_path
        )
    )
    header, first, *_ = (tmp_path / "out.csv").read_text().splitlines()
    assert header.startswith("index,step,month,sales") and first.startswith("0,1,2000-01,")


def test_eval_backtests_a_forecaster_over_its_test_period(forecaster):
    folder, checkpoint = forecaster
    result = run_cli(
        "seqnet-eval", f"ckpt_path={checkpoint}", "backtest=true", "hydra.run.dir=bt", cwd=folder
    )
    assert_ok(result)
    found = json.loads((folder / "bt" / "backtest.json").read_text())
    assert found["overall"]["origins"] == len(found["origins"]) == 8  # 48 test steps, horizon 6
    metrics = json.loads((folder / "bt" / "metrics.json").read_text())
    assert metrics["backtest/mae"] == pytest.approx(found["overall"]["mae"])


def test_predict_forecasts_past_the_trained_horizon_with_dates_when_the_style_allows(tmp_path):
    months = [f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in range(96)]
    rows = "".join(f"{m},{100 + 10 * np.sin(2 * np.pi * i / 12):.3f}\n" for i, m in enumerate(months))
    (tmp_path / "sales.csv").write_text("month,sales\n" + rows)
    checkpoint = train(
        tmp_path, "data=csv_series", "data.source.path=sales.csv", "data.source.target=sales",
        "data.source.window=24", "data.source.horizon=3", "model=forecaster", "model.style=autoregressive",
    )  # fmt: skip
    (tmp_path / "recent.csv").write_text((tmp_path / "sales.csv").read_text())
    command = (
        "seqnet-predict",
        f"ckpt_path={checkpoint}",
        "input=recent.csv",
        "output=out.jsonl",
        "horizon=5",
    )
    assert_ok(run_cli(*command, cwd=tmp_path))
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [s["month"] for s in record["forecast"]] == ["1998-01", "1998-02", "1998-03", "1998-04", "1998-05"]
