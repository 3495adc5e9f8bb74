import numpy as np
import pytest

from seqnet.data.series import fill_missing, forecast_windows, read_csv_columns


def write(tmp_path, text):
    path = tmp_path / "series.csv"
    path.write_text(text)
    return path


def test_csv_columns_are_read_in_the_order_asked_and_gaps_become_nan(tmp_path):
    path = write(tmp_path, "date,a,b\n2020,1,2\n2021,,4\n2022,NA,6\n")
    values = read_csv_columns(path, ["b", "a"])
    assert values.dtype == np.float32 and values.shape == (3, 2)
    assert values[:, 0].tolist() == [2, 4, 6] and np.isnan(values[1:, 1]).all()


@pytest.mark.parametrize(
    "text, columns, message",
    [
        ("a,b\n1,2\n", ["c"], r"has no column \['c'\]; its header has \['a', 'b'\]"),
        ("a,b\n1,2\n3,x\n", ["b"], r"series.csv:3: column 'b' holds 'x', which is not a number"),
        ("a,b\n1,2\n3\n", ["a"], r"series.csv:3: expected 2 fields, got 1"),
        ("a,b\n", ["a"], "holds no data rows"),
    ],
)
def test_malformed_csv_files_name_the_file_line_and_problem(tmp_path, text, columns, message):
    with pytest.raises(ValueError, match=message):
        read_csv_columns(write(tmp_path, text), columns)


def test_missing_policies():
    values = np.array([[np.nan], [1.0], [np.nan], [3.0]], dtype=np.float32)
    assert fill_missing(values, "interpolate", "x")[:, 0].tolist() == [1.0, 1.0, 2.0, 3.0]
    assert fill_missing(values, "ffill", "x")[:, 0].tolist() == [1.0, 1.0, 1.0, 3.0]
    assert fill_missing(values, "drop", "x") is None
    with pytest.raises(ValueError, match=r"x has a missing or non-finite value at step 0, channel 0"):
        fill_missing(values, "error", "x")


def test_forecast_windows_keep_their_targets_inside_the_period():
    series = np.arange(40, dtype=np.float32).reshape(20, 2)  # step t holds (2t, 2t+1)
    windows = forecast_windows(series, [1], window=3, horizon=2, start=10, stop=16, stride=1)
    assert [w.target[0, 0] for w in windows] == [21, 23, 25, 27, 29]  # targets start at steps 10..14
    first = windows[0]
    assert first.values.shape == (3, 2) and first.values[:, 0].tolist() == [14, 16, 18]
    assert first.target.shape == (2, 1) and all(w.target[-1, 0] <= 31 for w in windows)
