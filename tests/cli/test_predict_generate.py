"""seqnet-predict and seqnet-generate from a checkpoint alone, as a user runs them."""

import json

import pytest
import torch

from seqnet.data import collate_sequences
from seqnet.data.prediction import read_prediction_inputs
from seqnet.tasks import ManyToMany, ManyToOne
from tests.cli.conftest import run_cli


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


def test_predicted_labels_and_probabilities_equal_the_in_memory_model(text_classifier):
    folder, checkpoint = text_classifier
    (folder / "reviews.txt").write_text("tasty soup again\ncold fries\nsomething unheard of\n")
    result = run_cli(
        "seqnet-predict", f"ckpt_path={checkpoint}", "input=reviews.txt", "output=out.jsonl", cwd=folder
    )
    assert_ok(result)
    assert "3 predictions written to out.jsonl" in result.stdout
    written = [json.loads(line) for line in (folder / "out.jsonl").read_text().splitlines()]
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
    assert "holds a LanguageModel model, but seqnet-predict needs a ManyToOne or ManyToMany" in refused.stderr
