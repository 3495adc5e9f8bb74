"""A series' time column: found by name or by its values, its frequency, and the dates after it."""

import pytest

from seqnet.data.timestamps import find_time_column, infer_frequency, parse_times, times_after


@pytest.mark.parametrize(
    ("cells", "frequency", "after"),
    [
        (["1949-01", "1949-02", "1949-03"], "1M", ["1949-04", "1949-05"]),
        (["1949-11-01", "1949-12-01", "1950-01-01"], "1M", ["1950-02-01", "1950-03-01"]),
        (
            ["2014-01-01 00:00", "2014-01-01 00:30", "2014-01-01 01:00"],
            "30m",
            ["2014-01-01 01:30", "2014-01-01 02:00"],
        ),
        (["2020-01-01", "2020-01-08", "2020-01-22"], "7D", ["2020-01-29", "2020-02-05"]),  # a gap
        (["1871", "1872", "1873"], "1Y", ["1874", "1875"]),
    ],
)
def test_the_frequency_and_the_dates_after_the_last_row(cells, frequency, after):
    times = parse_times(cells, "x.csv")
    assert infer_frequency(times) == frequency
    assert times_after(times[-1], frequency, 2) == after


def test_the_time_column_is_found_by_name_or_by_its_values(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("when,load,year\n2020-01-01,1.5,1\n2020-01-02,2.5,2\n")
    assert find_time_column(path, ["when", "load", "year"], exclude=["load"]) == "when"
    path.write_text("load,id\n1.5,3\n2.5,4\n")
    assert find_time_column(path, ["load", "id"], exclude=["load"]) is None  # numbers are not dates
    with pytest.raises(ValueError, match=r"x\.csv: 'soon' is not an ISO date or time"):
        parse_times(["2020-01-01", "soon"], "x.csv")
