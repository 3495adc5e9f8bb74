"""Code blocks in the README marked `<!-- readme-test -->` run as written and pass their asserts; the
custom-cell block (`<!-- readme-cell -->`) trains from the CLI exactly as the README says."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import run_cli

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
DOCS = sorted((README.parent / "docs").glob("*.md"))  # the docs pages' examples run here too
BLOCKS = re.findall(
    r"<!-- readme-test -->\n```python\n(.*?)```", TEXT + "".join(p.read_text() for p in DOCS), re.DOTALL
)
(CELL,) = re.findall(r"<!-- readme-cell -->\n```python\n(.*?)```", TEXT, re.DOTALL)
CELL_COMMAND = "seqnet-train model.encoder.cell=my_cells.PeepholeLSTM model.encoder.bidirectional=true"


def test_readme_has_tested_examples_that_check_what_they_show():
    assert BLOCKS and all("assert " in block for block in BLOCKS)
    assert CELL_COMMAND in TEXT


def test_the_readme_links_to_docs_pages_and_files_that_exist():
    links = re.findall(r"\]\(((?:docs/|benchmarks/|scripts/|configs/|DATA_)[^)#]+)", TEXT)
    assert "docs/speed.md" in links
    assert [link for link in links if not (README.parent / link).exists()] == []


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # each example asserts its own outcome


def test_the_readme_custom_cell_trains_from_the_cli_and_its_checkpoint_loads_elsewhere_on_its_path(tmp_path):
    (tmp_path / "my_cells.py").write_text(CELL)
    run_dir = tmp_path / "run"
    program, *overrides = CELL_COMMAND.split()
    result = run_cli(
        program, *overrides, "debug=fast", f"hydra.run.dir={run_dir}", cwd=tmp_path, process=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test/acc" in json.loads((run_dir / "metrics.json").read_text())
    script = (
        "from seqnet.tasks import ManyToOne; "
        f"m = ManyToOne.load_from_checkpoint({str(run_dir / 'checkpoints' / 'last.ckpt')!r}); "
        "print(type(m.encoder.layers[0].forward_layer).__name__)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "PeepholeLSTM"


def test_the_docs_ucr_table_is_the_one_the_script_wrote():
    page = (README.parent / "docs" / "classification.md").read_text()
    (table,) = re.findall(r"<!-- ucr-table -->\n(.*?)<!-- /ucr-table -->", page, re.DOTALL)
    generated = (README.parent / "benchmarks" / "ucr" / "README.md").read_text()
    assert table.strip() and generated.rstrip().endswith(table.strip())


def test_the_docs_memory_table_is_the_one_the_benchmark_wrote():
    page = (README.parent / "docs" / "long_sequences.md").read_text()
    rows = json.loads((README.parent / "benchmarks" / "bench_tbptt_memory.json").read_text())["rows"]
    for length in {row["length"] for row in rows}:
        full, truncated = (r["training_mib"] for r in rows if r["length"] == length)
        assert f"| {length} | {full} | {truncated} |" in page
        if length == 4096:  # the README's task table quotes the longest row
            assert f"{round(truncated)} MiB at 4,096 steps, full BPTT {round(full):,} MiB" in TEXT


def test_the_docs_shakespeare_comparison_is_the_one_the_runs_wrote():
    page = (README.parent / "docs" / "long_sequences.md").read_text()
    for case, label in (("windows", "| independent, shuffled"), ("stateful", "| stateful streams")):
        run = json.loads((README.parent / "benchmarks" / f"shakespeare_char_{case}_10min.json").read_text())
        assert (
            f"| {run['val/nll_mean']:.3f} | {run['test/nll_mean']:.3f} |"
            in page.split(label, 1)[1].split("\n")[0]
        )


OWN_FILES = {  # a small file of each kind the README's own-file commands name
    "train.conll": "".join(f"Paris\tB-LOC\nis\tO\nbig{i}\tO\n\n" for i in range(12)),
    "pairs.tsv": "".join(f"march {d} 2021\t2021-03-{d:02d}\n" for d in range(1, 13)),
    "reviews.tsv": "".join(f"{'pos' if i % 2 else 'neg'}\treview {i}\n" for i in range(12)),
    "load.csv": "step,load\n" + "".join(f"{i},{i % 7}\n" for i in range(120)),
}
OWN_FILE_COMMANDS = sorted(
    set(re.findall(r"`(seqnet-train data=(?:conll|parallel_tsv|text_tsv|csv_series) [^`\n]*)`", TEXT))
)  # the README's own-file list (docs/data.md has the formats)


def test_the_readme_has_an_own_file_command_per_kind():
    assert {re.search(r"data=(\w+)", c).group(1) for c in OWN_FILE_COMMANDS} >= {
        "conll",
        "parallel_tsv",
        "csv_series",
    }


@pytest.mark.parametrize("command", OWN_FILE_COMMANDS)
def test_the_readme_own_file_commands_run_with_only_their_paths(command, tmp_path):
    """The README's commands for one's own files, `...` standing for a file of the right kind: no
    test file, no other setting, only `debug=fast`."""
    for name, content in OWN_FILES.items():
        (tmp_path / name).write_text(content)
    kind = re.search(r"data=(\w+)", command).group(1)
    path = {"conll": "train.conll", "parallel_tsv": "pairs.tsv", "text_tsv": "reviews.tsv"}.get(
        kind, "load.csv"
    )
    program, *overrides = command.replace("=...", f"={path}").split()
    result = run_cli(program, *overrides, "debug=fast", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_readme_zero_config_table_is_the_one_the_script_wrote():
    (table,) = re.findall(r"<!-- zero-config-table -->\n(.*?)<!-- /zero-config-table -->", TEXT, re.DOTALL)
    generated = (README.parent / "benchmarks" / "zero_config" / "README.md").read_text()
    assert table.strip() and generated.rstrip().endswith(table.strip())


def test_the_docs_gradient_table_is_the_one_the_benchmark_wrote():
    page = (README.parent / "docs" / "gradients.md").read_text()
    (table,) = re.findall(r"<!-- memory-table -->\n(.*?)<!-- /memory-table -->", page, re.DOTALL)
    script = README.parent / "scripts" / "bench_memory_tasks.py"
    results = README.parent / "benchmarks" / "memory_tasks.json"
    printed = subprocess.run(
        [sys.executable, str(script), "--table", str(results)], capture_output=True, text=True, check=True
    ).stdout
    assert table.strip() and table.strip() == printed.strip()
    rows = json.loads(results.read_text())["rows"]
    for cell in ("rnn", "lstm", "gru", "mingru", "minlstm"):  # the README's summary: longest solved
        solved = [r for r in rows if r["cell"] == cell and r["test_vs_baseline"] < 0.1]
        longest = [
            max((r["length"] for r in solved if r["task"] == task), default="-")
            for task in ("adding", "copy_memory")
        ]
        assert f"| {cell} | {longest[0]} | {longest[1]} |" in TEXT


def test_the_export_figures_are_the_ones_the_benchmarks_wrote():
    page = (README.parent / "docs" / "export.md").read_text()
    (table,) = re.findall(r"<!-- serve-table -->\n(.*?)<!-- /serve-table -->", page, re.DOTALL)
    rows = json.loads((README.parent / "benchmarks" / "bench_serve.json").read_text())["rows"]
    for r in rows:
        ms, per_second = r["ms_per_step"], r["rows_per_second"]
        assert (
            f"| {r['model']} | {r['batch']} | {ms['onnxruntime']} | {ms['eager']} | "
            f"{per_second['onnxruntime']:,} | {per_second['eager']:,} | {r['eager_vs_onnxruntime']} |"
        ) in table
    ratios = [r["eager_vs_onnxruntime"] for r in rows]
    assert "2-4x faster" in TEXT and min(ratios) >= 2 and max(ratios) < 5
    (q,) = json.loads((README.parent / "benchmarks" / "export_default.json").read_text())["rows"]
    assert f"from {q['float_bytes'] // 1000:,} to {q['int8_bytes'] // 1000:,} kB" in TEXT
    assert f"({q['accuracy_int8']:.3f};" in TEXT and q["accuracy_int8"] == q["accuracy_float"]
    assert f"{q['float_bytes']:,} bytes and the int8 one\n{q['int8_bytes']:,}" in page


def test_the_docs_per_shape_speed_table_is_the_one_the_benchmark_wrote():
    page = (README.parent / "docs" / "speed.md").read_text()
    rows = json.loads((README.parent / "benchmarks" / "bench_shapes.json").read_text())["rows"]
    for r in rows:
        ms, ratio = r["ms_per_step"], r["seqnet_vs_hand_written"]
        spread = f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"
        row = f"| {ms['seqnet']:.2f} | {ms['plain_lightning']:.2f} | {ms['hand_written']:.2f} | {spread} |"
        assert row in page, r["shape"]
    extra = [r["gradient_flow_extra_seconds_per_run"] for r in rows]
    gradients = (README.parent / "docs" / "gradients.md").read_text()
    assert f"adds between {min(extra):.2f} and {max(extra):.2f} s a run" in gradients
    ratios = [r["gradient_flow_vs_logged"]["median"] for r in rows]
    assert f"ratios\n{min(ratios):.2f}-{max(ratios):.2f} against" in gradients


def test_the_readme_commands_for_ones_own_files_train_the_task_their_data_needs():
    """'Your own data' gives no model=: each data config brings its task shape."""
    import shlex

    from hydra import compose, initialize_config_dir

    from seqnet.cli.config_dir import CONFIG_DIR

    section = TEXT[TEXT.index("## Your own data") : TEXT.index("## When things go wrong")]
    commands = [shlex.split(c) for c in re.findall(r"`(seqnet-train data=[^`]+)`", section)]
    tasks = {}
    for _, *overrides in commands:
        overrides = [o.replace("...", "x") for o in overrides]
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            tasks[overrides[0]] = compose("train", overrides=overrides).model._target_.rsplit(".", 1)[1]
    assert tasks == {
        "data=text_tsv": "ManyToOne", "data=conll": "ManyToMany", "data=parallel_tsv": "Seq2Seq",
        "data=csv_series": "Forecaster", "data=text_corpus": "LanguageModel",
        "data=csv_anomaly": "SequenceAutoencoder", "data=ucr": "ManyToOne",
    }  # fmt: skip
