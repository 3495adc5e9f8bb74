import numpy as np
import pytest

from seqnet.data import build_spec
from seqnet.data.prediction import read_prediction_inputs
from seqnet.data.sources import UCRSource
from seqnet.errors import InputError


def test_japanese_vowels_loads_from_the_sktime_wheel():
    splits = UCRSource("JapaneseVowels").load()
    assert (len(splits.train), len(splits.test)) == (270, 370)
    assert splits.class_names == [str(i) for i in range(1, 10)]
    lengths = [len(e.values) for e in splits.train + splits.test]
    assert (min(lengths), max(lengths)) == (7, 29)
    assert all(e.values.shape[1] == 12 and e.values.dtype == np.float32 for e in splits.train)


def test_italy_power_demand_loads():
    splits = UCRSource("ItalyPowerDemand").load()
    assert (len(splits.train), len(splits.test)) == (67, 1029)
    assert splits.train[0].values.shape == (24, 1)


def write_pair(folder, train_body: str, test_body: str = "1,2:a\n") -> None:
    header = "@problemName Toy\n@classLabel true a b\n@data\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Toy_TRAIN.ts").write_text(header + train_body)
    (folder / "Toy_TEST.ts").write_text(header + test_body)


def test_reads_a_user_folder_directly_or_per_data_set(tmp_path):
    write_pair(tmp_path / "Toy", "1,2,3:a\n4,5:b\n")
    splits = UCRSource("Toy", data_dir=tmp_path).load()
    assert len(splits.train) == 2 and splits.train[1].target == "b"


def test_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no Nope_TRAIN\.ts under"):
        UCRSource("Nope", data_dir=tmp_path).load()


def test_unknown_name_lists_what_the_wheel_has():
    with pytest.raises(FileNotFoundError, match=r"available there:.*JapaneseVowels"):
        UCRSource("NotAnArchiveSet").load()


@pytest.mark.parametrize(
    "policy, expected",
    [("interpolate", [1.0, 2.0, 3.0, 3.0]), ("ffill", [1.0, 1.0, 3.0, 3.0])],
)
def test_missing_values_are_filled_by_policy(tmp_path, policy, expected):
    write_pair(tmp_path, "1,?,3,?:a\n1,2:b\n")
    splits = UCRSource("Toy", data_dir=tmp_path, missing=policy).load()
    np.testing.assert_allclose(splits.train[0].values[:, 0], expected)


def test_missing_values_drop_or_fail_with_position(tmp_path):
    write_pair(tmp_path, "1,?,3:a\n1,2:b\n")
    assert len(UCRSource("Toy", data_dir=tmp_path, missing="drop").load().train) == 1
    with pytest.raises(
        ValueError,
        match=r"Toy_TRAIN.ts:\d+: the case has a missing or non-finite value "
        r"at step 1, channel 0; set missing=",
    ):
        UCRSource("Toy", data_dir=tmp_path).load()
    with pytest.raises(ValueError, match="missing must be one of"):
        UCRSource("Toy", missing="zero")


def make_archive_zip(tmp_path):
    import zipfile

    header = "@problemName Toy\n@classLabel true a b\n@data\n"
    archive = tmp_path / "Toy.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Toy_TRAIN.ts", header + "1,2,3:a\n4,5:b\n")
        zipped.writestr("Toy_TEST.ts", header + "1,2:a\n")
    return archive


def test_download_fetches_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQNET_CACHE_DIR", str(tmp_path / "cache"))
    archive = make_archive_zip(tmp_path)
    url = f"file://{tmp_path}/{{name}}.zip"
    splits = UCRSource("Toy", download=True, url=url).load()
    assert len(splits.train) == 2 and (tmp_path / "cache" / "ucr" / "Toy" / ".complete").is_file()
    archive.unlink()  # a second load reads the cache, not the URL
    assert len(UCRSource("Toy", download=True, url=url).load().test) == 1
    assert len(UCRSource("Toy").load().test) == 1  # the cache is searched without download too


def test_a_failed_download_says_how_to_do_it_by_hand(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQNET_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(OSError, match=r"could not download file://.*Nope\.zip.*unpack it into"):
        UCRSource("Nope", download=True, url=f"file://{tmp_path}/{{name}}.zip").load()
    (tmp_path / "Bad.zip").write_text("not a zip")
    with pytest.raises(OSError, match=r"is not a zip archive"):
        UCRSource("Bad", download=True, url=f"file://{tmp_path}/{{name}}.zip").load()
    assert not (tmp_path / "cache" / "ucr" / "Bad" / ".complete").exists()


def test_series_normalisation_z_normalises_each_case_and_travels_in_the_spec_to_prediction(tmp_path):
    write_pair(tmp_path, "1,2,3,4:a\n10,30,20,40:b\n5,5,5:a\n", "100,200,300:b\n")
    splits = UCRSource("Toy", data_dir=tmp_path, normalize="series").load()
    for example in splits.train[:2] + splits.test:
        assert abs(example.values.mean()) < 1e-6 and abs(example.values.std() - 1) < 1e-5
    assert np.all(splits.train[2].values == 0)  # a constant case
    spec = build_spec(splits, splits.train)
    assert spec.normalize == "series" and spec.feature_mean is None
    (read,) = read_prediction_inputs(tmp_path / "Toy_TEST.ts", spec)
    np.testing.assert_allclose(read.values, splits.test[0].values, rtol=1e-6)
    raw = build_spec(UCRSource("Toy", data_dir=tmp_path, normalize="none").load(), splits.train)
    assert raw.normalize == "none" and raw.feature_std is None


def test_auto_normalisation_is_series_for_one_channel_and_dataset_for_several(tmp_path):
    write_pair(tmp_path, "1,2,3,4:a\n10,30,20,40:b\n", "100,200,300:b\n")
    assert UCRSource("Toy", data_dir=tmp_path, normalize="auto").load().normalize == "series"
    write_pair(tmp_path, "1,2,3:4,5,6:a\n10,30,20:1,2,3:b\n", "100,200,300:1,1,1:b\n")
    splits = UCRSource("Toy", data_dir=tmp_path, normalize="auto").load()
    assert splits.normalize == "dataset" and splits.train[1].values[0, 0] == 10


def test_an_unknown_normalisation_is_refused():
    with pytest.raises(InputError, match=r"normalize must be one of \('auto', 'series', 'dataset', 'none'\)"):
        UCRSource("Toy", normalize="minmax")
