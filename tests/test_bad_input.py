"""The bad-input catalogue: the ways a user's files, data, config or command line go wrong, each with
the message the command prints. Every case ends the command with exit status 2 and that one message
(the file and line, or the key, and the fix), no traceback, and nothing of an earlier run lost.

The commands run in this process through their console entry points (the same code path as the
installed scripts, without a Python start-up per case), so the catalogue runs in the fast suite.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from tests.commands import run_cli

TS_HEADER = "@problemName Toy\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n"
TS_REGRESSION = "@problemName Toy\n@timeStamps false\n@univariate true\n@targetlabel true\n@data\n"
REVIEWS = "pos\tgood film\nneg\tbad film\npos\tgreat fun\nneg\tdull plot\n"
TAGS = "The\tDET\ncat\tNOUN\n\nA\tDET\ndog\tNOUN\n"
SERIES = "step,load\n" + "".join(f"{i},{i % 7}\n" for i in range(60))


@dataclass
class Case:
    """`program` run with `args` in a folder holding `files` must print `message`."""

    id: str
    args: tuple[str, ...]
    message: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    program: str = "seqnet-train"


def tsv(*args: str) -> tuple[str, ...]:
    return ("debug=fast", "data=text_tsv", "data.source.train_path=train.tsv", *args)


def conll(*args: str) -> tuple[str, ...]:
    return ("debug=fast", "data=conll", "model=many_to_many", "data.source.train_path=train.conll", *args)


def ts(*args: str) -> tuple[str, ...]:
    return ("debug=fast", "data.source.name=Toy", "data.source.data_dir=.", *args)


def series(*args: str) -> tuple[str, ...]:
    return ("debug=fast", "data=csv_series", "model=forecaster", "data.source.path=load.csv", *args)


CASES = [
    # --- the command line and the config ---
    Case("unknown key", ("model.encoder.hiden_size=8",),
         "seqnet-train: error: unknown config key 'model.encoder.hiden_size' (did you mean "
         "'model.encoder.hidden_size'?)"),
    Case("unknown group option", ("model/encoder=transformer",),
         "seqnet-train: error: invalid override: In 'model/many_to_one': Could not find "
         "'model/encoder/transformer'"),
    Case("missing mandatory values", ("data=csv_series", "model=forecaster"),
         "seqnet-train: error: data.source.path, data.source.target have no value and this run needs them: "
         "add data.source.path=... data.source.target=... to the command line"),
    Case("missing checkpoint path", (), "seqnet-eval: error: ckpt_path has no value and this run needs it",
         program="seqnet-eval"),
    Case("negative learning rate", ("debug=fast", "model.optimizer.lr=-1"),
         "seqnet-train: error: model.optimizer: AdamW refused {'lr': -1"),
    Case("scheduler argument it does not take",
         ("debug=fast", "model.scheduler={_target_:torch.optim.lr_scheduler.StepLR,gamma:0.5}"),
         "seqnet-train: error: model.scheduler: StepLR refused {'gamma': 0.5}"),
    Case("unknown precision", ("debug=fast", "trainer.precision=17"),
         "seqnet-train: error: the trainer config could not be built (ValueError: Precision 17 is invalid."),
    Case("config group set to null", ("callbacks=null",),
         "invalid override: Config group override must be a string or a list. Got NoneType; to drop a "
         "config group write ~callbacks"),
    Case("wrong type", ("model.encoder.hidden_size=abc",), "hidden_size must be a whole number, got 'abc'"),
    Case("zero hidden size", ("debug=fast", "model.encoder.hidden_size=0"),
         "input_size and hidden_size must be positive, got 12 and 0"),
    Case("zero layers", ("debug=fast", "model.encoder.num_layers=0"),
         "num_layers must be a whole number of at least 1, got 0"),
    Case("negative dropout", ("debug=fast", "model.encoder.dropout=-0.1"),
         "dropout must be in [0, 1), got -0.1"),
    Case("zero batch size", ("debug=fast", "data.batch_size=0"), "batch_size must be at least 1, got 0"),
    Case("zero max length", ("debug=fast", "data.max_length=0"),
         "max_length must be at least 1 or null, got 0"),
    Case("unbounded epochs", ("trainer.max_epochs=-1",),
         "trainer.max_epochs must be a whole number of at least 1, got -1"),
    Case("clipping on the trainer", ("trainer.gradient_clip_val=1.0",),
         "trainer.gradient_clip_val is not used by seqnet"),
    Case("unknown monitor", ("model.monitor=val/auc",),
         "monitor='val/auc' is not a validation metric of ManyToOne"),
    Case("unknown optimizer", ("model.optimizer._target_=torch.optim.Adamx",),
         "optimizer class 'torch.optim.Adamx' cannot be imported"),
    Case("unknown cell", ("debug=fast", "model.encoder.cell=transformer"),
         "unknown cell 'transformer'; choose from"),
    Case("unknown pooling", ("debug=fast", "model.pooling=median"), "unknown pooling 'median'; choose from"),
    Case("projection on a GRU", ("debug=fast", "model/encoder=gru", "model.encoder.proj_size=4"),
         "proj_size works only with cell='lstm', got cell='gru'"),
    Case("bad wait policy", ("debug=fast", "process.omp_wait_policy=BUSY"),
         "process.omp_wait_policy='BUSY' is not an OpenMP wait policy"),
    # --- options that do not go together ---
    Case("tagging a classification set", ("debug=fast", "model=many_to_many"),
         "ManyToMany predicts tags or series targets, but data 'JapaneseVowels' has 'classes' targets"),
    Case("a bidirectional language model", ("debug=fast", "experiment=shakespeare_char",
                                            "model.encoder.bidirectional=true"),
         "must not see the tokens it predicts"),
    Case("a forecaster on classes", ("debug=fast", "model=forecaster"),
         "Forecaster predicts series targets, but data 'JapaneseVowels' has 'classes' targets; pick the task "
         "shape made for these targets (model=many_to_one)"),
    Case("a classifier on a series", series("data.source.target=load", "model=many_to_one"),
         "ManyToOne predicts classes or values targets, but data 'load' has 'series' targets; pick the task "
         "shape made for these targets (model=forecaster, many_to_many)", {"load.csv": SERIES}),
    Case("a classifier on tags", conll("data.source.test_path=train.conll", "model=many_to_one"),
         "pick the task shape made for these targets (model=many_to_many)", {"train.conll": TAGS}),
    Case("out of GPU memory", ("debug=fast", "+callbacks.oom._target_=tests.cli.faults.OutOfMemory"),
         "out of GPU memory during training on a batch of 32 sequences of"),
    Case("a front-end on a language model",
         ("debug=fast", "experiment=shakespeare_char", "+model.frontend={channels:[8],kernel_sizes:[3]}"),
         "a language model must not see the tokens it predicts: a front-end's convolutions read the steps "
         "after each token"),
    Case("a strided front-end on a tagger",
         ("debug=fast", "experiment=sine_denoise", "model.frontend={channels:[8],kernel_sizes:[3],stride:2}"),
         "ManyToMany predicts at every input step, so its front-end cannot stride (frontend.stride=2)"),
    Case("an unknown normalisation", ("debug=fast", "data.source.normalize=minmax"),
         "normalize must be one of ('auto', 'series', 'dataset', 'none'), got 'minmax'"),
    Case("augmenting tokens", ("debug=fast", "experiment=names_gender", "+model.augment={jitter:0.1}"),
         "augment applies to feature series; data"),
    # --- where data and runs live ---
    Case("missing data directory", ("debug=fast", "data.source.name=GunPoint", "data.source.data_dir=no"),
         "no GunPoint_TRAIN.ts under no (looked in no and no/GunPoint)"),
    Case("unknown packaged data set", ("debug=fast", "data.source.name=NoSuchSet"),
         "UCR data set 'NoSuchSet' is not in the sktime wheel"),
    Case("missing data file", tsv("data.source.test_path=absent.tsv"),
         "label/text file absent.tsv does not exist",
         {"train.tsv": REVIEWS}),
    Case("log directory is a file", ("debug=fast", "paths.log_dir=taken/logs"),
         "paths.log_dir=taken/logs cannot hold run directories:", {"taken": "a file"}),
    Case("run directory holds a run", ("debug=fast", "hydra.run.dir=done"),
         "hydra.run.dir=done already holds a run; continue it with `seqnet-train resume=done`",
         {"done/metrics.json": "{}"}),
    Case("resume of a folder that is no run", ("resume=elsewhere",),
         "resume=elsewhere: elsewhere is not a seqnet-train run directory", {"elsewhere/notes.txt": ""}),
    # --- text files ---
    Case("TSV line without a tab", tsv("data.source.test_path=train.tsv"),
         "train.tsv:2: expected 'label<TAB>text', got 'no tab here'",
         {"train.tsv": "pos\tgood film\nno tab here\n"}),
    Case("TSV line with a column too many", tsv("data.source.test_path=train.tsv"),
         "train.tsv:2: 3 tab-separated columns where 'label<TAB>text' has 2: 'pos\\tjune 1 2020\\textra'",
         {"train.tsv": "pos\tgood film\npos\tjune 1 2020\textra\n"}),
    Case("TSV not UTF-8", tsv("data.source.test_path=train.tsv"),
         "train.tsv:2: not UTF-8 text (byte 9 is b'\\xe9'); save the file as UTF-8",
         {"train.tsv": b"pos\tgood\n\xe9t\xe9\n"}),
    Case("empty TSV", tsv("data.source.test_path=train.tsv"),
         "train.tsv holds no examples", {"train.tsv": ""}),
    Case("label unseen in training", tsv("data.source.test_path=test.tsv"),
         "test.tsv:2: train test example 1 has label 'neutral', which the training split does not contain "
         "(known: ['neg', 'pos'])",
         {"train.tsv": REVIEWS, "test.tsv": "pos\tfine\nneutral\tso so\n"}),
    Case("CoNLL line without a tab", conll("data.source.test_path=train.conll"),
         "train.conll:3: 1 column(s) where line 1 has 2: 'EmpireB-facility'",
         {"train.conll": "Empire\tB-facility\nState\tI-facility\nEmpireB-facility\n"}),
    Case("CoNLL line with three columns", conll("data.source.test_path=train.conll"),
         "train.conll:2: 3 column(s) where line 1 has 2", {"train.conll": "The\tDET\ncat\tNOUN\tB-X\n"}),
    Case("CoNLL file without sentences", conll("data.source.test_path=train.conll"),
         "train.conll holds no sentences", {"train.conll": "\n\n"}),
    Case("tag unseen in training", conll("data.source.test_path=test.conll"),
         "test.conll:1: train test example 0 has tag 'VERB', which the training split does not contain",
         {"train.conll": TAGS, "test.conll": "The\tDET\ncat\tVERB\n"}),
    Case("parallel TSV line without a tab",
         ("debug=fast", "data=parallel_tsv", "model=seq2seq", "data.source.train_path=pairs.tsv",
          "data.source.test_path=pairs.tsv"),
         "pairs.tsv:2: expected 'source<TAB>target'", {"pairs.tsv": "a b\tx y\nno tab\n"}),
    # --- time series files ---
    Case(".ts without @data", ts(),
         "Toy_TRAIN.ts:2: expected a '@' header line or '@data' before the cases, got '1,2:a'",
         {"Toy_TRAIN.ts": "@problemName Toy\n1,2:a\n", "Toy_TEST.ts": TS_HEADER + "1,2:a\n"}),
    Case(".ts case without its label", ts(), "Toy_TRAIN.ts:7: expected channels followed by ':<label>'",
         {"Toy_TRAIN.ts": TS_HEADER + "1,2,3:a\n1,2,3\n", "Toy_TEST.ts": TS_HEADER + "1,2:a\n"}),
    Case(".ts non-numeric value", ts(), "Toy_TRAIN.ts:6: channel 0 holds a value that is not a number",
         {"Toy_TRAIN.ts": TS_HEADER + "1,x,3:a\n", "Toy_TEST.ts": TS_HEADER + "1,2:a\n"}),
    Case(".ts non-numeric regression target", ts(),
         "Toy_TRAIN.ts:7: the target 'abc' is not a number; a regression file (@targetLabel true) ends every "
         "case with ':<number>'",
         {"Toy_TRAIN.ts": TS_REGRESSION + "1,2,3:0.5\n1,2,3:abc\n",
          "Toy_TEST.ts": TS_REGRESSION + "1,2:1.0\n"}),
    Case(".ts not UTF-8", ts(), "Toy_TRAIN.ts:6: not UTF-8 text (byte",
         {"Toy_TRAIN.ts": TS_HEADER.encode() + b"1,2:\xe9\n", "Toy_TEST.ts": TS_HEADER + "1,2:a\n"}),
    Case(".ts class absent from training", ts(),
         "Toy_TEST.ts:6: Toy test example 0 has label 'c', which the training split does not contain",
         {"Toy_TRAIN.ts": TS_HEADER + "1,2:a\n3,4:a\n",
          "Toy_TEST.ts": TS_HEADER.replace(" a b", " a b c") + "1,2:c\n"}),
    Case("CSV without the target column", series("data.source.target=demand"),
         "load.csv has no column ['demand']; its header has ['step', 'load']",
         {"load.csv": SERIES}),
    Case("CSV non-numeric value", series("data.source.target=load"),
         "load.csv:7: column 'load' holds 'five', which is not a number; leave the cell empty (or NA)",
         {"load.csv": SERIES.replace("\n5,5\n", "\n5,five\n")}),
    Case("CSV gap without a missing-value policy", series("data.source.target=load"),
         "load.csv has a missing or non-finite value at step 5",
         {"load.csv": SERIES.replace("\n5,5\n", "\n5,\n")}),
    Case("CSV infinity", series("data.source.target=load"),
         "load.csv has a missing or non-finite value at step 5",
         {"load.csv": SERIES.replace("\n5,5\n", "\n5,inf\n")}),
    Case("anomaly label that is not 0 or 1",
         ("debug=fast", "data=csv_anomaly", "model=autoencoder", "data.source.path=s.csv",
          "data.source.columns=[value]", "data.source.train_end=40", "data.source.window=8"),
         "label column 'label' must be 0 or 1; data row 2 holds 2",
         {"s.csv": "value,label\n1,0\n2,2\n" + "3,0\n" * 60}),
    # --- checkpoints ---
    Case("checkpoint that does not exist", ("ckpt_path=nope.ckpt",), "nope.ckpt does not exist",
         program="seqnet-eval"),
    Case("run directory as a checkpoint", ("ckpt_path=run",),
         "checkpoint run is a directory; pass a checkpoint file",
         {"run/checkpoints/notes.txt": ""}, program="seqnet-eval"),
    Case("text file as a checkpoint", ("ckpt_path=notes.txt", "input=x.txt"),
         "notes.txt is not a readable checkpoint (", {"notes.txt": "hello\n"}, program="seqnet-predict"),
    Case("truncated checkpoint", ("ckpt_path=best.ckpt",), "it is truncated, corrupt or another kind of file",
         {"best.ckpt": b"PK\x03\x04 truncated"}, program="seqnet-generate"),
    Case("foreign checkpoint", ("ckpt_path=other.ckpt",), "other.ckpt was not written by seqnet-train",
         {"other.ckpt": "torch"}, program="seqnet-eval"),
]  # fmt: skip


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name == "other.ckpt":
            torch.save({"state_dict": {}}, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_the_catalogue_covers_at_least_forty_bad_inputs():
    assert len(CASES) >= 40 and len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_ends_the_command_with_one_message_naming_the_problem_and_the_fix(
    case, tmp_path, monkeypatch
):
    monkeypatch.delenv("SEQNET_DEBUG", raising=False)
    write(tmp_path, case.files)
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*") if path.is_file()}
    result = run_cli(case.program, *case.args, cwd=tmp_path)
    printed = result.stderr.replace(str(tmp_path) + os.sep, "")
    assert result.returncode == 2, printed[-3000:]
    assert case.message in printed, printed[-3000:]
    assert "Traceback" not in printed
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in before.items())  # nothing given is touched


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    """A ManyToOne checkpoint (hidden size 16) from one batch of training."""
    folder = tmp_path_factory.mktemp("classifier")
    args = ("debug=fast", "model.encoder.hidden_size=16", f"hydra.run.dir={folder / 'run'}")
    assert run_cli("seqnet-train", *args, cwd=folder).returncode == 0
    return folder / "run" / "checkpoints" / "best.ckpt"


@pytest.mark.parametrize(
    ("program", "args", "message"),
    [
        ("seqnet-generate", (), "ManyToOne model, but seqnet-generate needs a LanguageModel checkpoint"),
        ("seqnet-predict", ("input=absent.ts",), "absent.ts does not exist"),
        ("seqnet-train", ("debug=fast", "model.encoder.hidden_size=8"),
         "holds a model of other settings than this run's (model.encoder.hidden_size: 16 in the "
         "checkpoint, 8 now); continue its run with `seqnet-train resume=<its run dir>`"),
    ],
)  # fmt: skip
def test_a_checkpoint_given_to_the_wrong_command_or_config_is_refused(
    classifier, program, args, message, tmp_path
):
    result = run_cli(program, f"ckpt_path={classifier}", *args, cwd=tmp_path)
    stderr = result.stderr
    assert result.returncode == 2 and message in stderr and "Traceback" not in stderr, stderr[-3000:]


def test_inputs_that_are_kept_are_counted_in_the_runs_log(tmp_path):
    """An empty text is skipped and a long one truncated, and train.log says how many of each."""
    write(tmp_path, {"train.tsv": REVIEWS + "pos\t\nneg\tfar too long a review to keep whole\n"})
    run = tmp_path / "run"
    result = run_cli(
        "seqnet-train", *tsv("data.source.test_path=train.tsv", "data.max_length=3", f"hydra.run.dir={run}"),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = (run / "train.log").read_text()
    assert "skipped 1 empty sequences" in log and "truncated 1 sequences to max_length=3" in log
