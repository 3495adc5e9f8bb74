import numpy as np
import pytest

from seqnet.data.sources import AnomalySource


@pytest.mark.parametrize(
    ("dataset", "length", "anomalous"), [("kdd_tsad_135", 7501, 12), ("mitdb", 7500, 352)]
)
def test_packaged_series_train_on_the_normal_part_and_score_every_later_step_once(dataset, length, anomalous):
    source = AnomalySource(dataset=dataset, window=100)
    splits = source.load()
    assert splits.target_kind == "anomaly" and splits.aligned
    assert sum(len(e.values) for e in splits.test) == length - source.train_end
    assert sum(int(e.target.sum()) for e in splits.test) == anomalous
    assert all(e.target.sum() == 0 for e in splits.train + splits.val)
    assert all(len(e.values) == 100 for e in splits.train)
    assert sum(len(e.values) for e in splits.val) == round(0.2 * source.train_end)


def test_your_own_csv_and_bad_labels(tmp_path):
    path = tmp_path / "ecg.csv"
    path.write_text("value,label\n" + "".join(f"{np.sin(t / 5):.3f},{int(t > 90)}\n" for t in range(100)))
    splits = AnomalySource(path=path, columns=["value"], train_end=60, window=20, stride=5).load()
    assert len(splits.train) == 6 and sum(len(e.values) for e in splits.test) == 40
    path.write_text("value,label\n0.1,0\n0.2,2\n")
    with pytest.raises(ValueError, match=r"label column 'label' must be 0 or 1; data row 2 holds 2"):
        AnomalySource(path=path, columns=["value"], train_end=1, window=1).load()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dataset="mitdb", path="x.csv"), "exactly one of path"),
        (dict(path="x.csv"), "name the value columns and train_end"),
        (dict(dataset="mitdb", missing="drop"), "would shift the labels"),
        (dict(dataset="nope"), r"available: \['kdd_tsad_135', 'mitdb'\]"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AnomalySource(**kwargs)
