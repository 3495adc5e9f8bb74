import numpy as np
import pytest

from seqnet.data import read_ts

HEADER = "# a comment\n@problemName Toy\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n"


def write(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_text(header + body)
    return path


def test_reads_multichannel_variable_length_cases(tmp_path):
    data = read_ts(write(tmp_path, "1,2,3:4,5,6:a\n7,8:9,10:b\n"))
    assert data.class_labels == ["a", "b"]
    assert data.labels == ["a", "b"]
    np.testing.assert_array_equal(data.series[0], [[1, 4], [2, 5], [3, 6]])  # (T, C)
    assert data.series[1].shape == (2, 2)
    assert data.metadata["problemname"] == "Toy"


def test_question_marks_are_missing_values(tmp_path):
    data = read_ts(write(tmp_path, "1,?,3:4,5,6:a\n"))
    assert np.isnan(data.series[0][1, 0])


def test_regression_files_have_no_class_labels(tmp_path):
    header = "@problemName R\n@targetLabel true\n@data\n"
    data = read_ts(write(tmp_path, "1,2,3:0.5\n", header=header))
    assert data.class_labels is None and data.labels == ["0.5"]


@pytest.mark.parametrize(
    "body, message",
    [
        ("1,2,x:4,5,6:a\n", r"Toy_TRAIN.ts:7: channel 0 holds a value that is not a number"),
        ("1,2,3:4,5:a\n", r"Toy_TRAIN.ts:7: channels of one case differ in length \[2, 3\]"),
        ("1,2:3,4:a\n1,2:b\n", r"Toy_TRAIN.ts:8: this case has 1 channel\(s\), the case on line 7 has 2"),
        ("1,2:3,4:a\n1,2:3,4:5,6:b\n", r"ts:8: this case has 3 channel\(s\), the case on line 7 has 2;"),
        ("1,2:3,4:a\n1,2:3,4\n", r"ts:8: this case has 1 channel\(s\), .* \(is its label missing\?\)"),
        ("1,2:3,4:c\n", r"ts:7: label 'c' is not among the classes the header declares \(@classLabel true a"),
        ("", r"'@data' is followed by no cases"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_file_and_line(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        read_ts(write(tmp_path, body))


def test_a_regression_target_that_is_not_a_number_names_the_line(tmp_path):
    header = "@problemName R\n@targetLabel true\n@data\n"
    with pytest.raises(
        ValueError, match=r"Toy_TRAIN.ts:5: the target 'abc' is not a number; a regression file"
    ):
        read_ts(write(tmp_path, "1,2,3:0.5\n4,5,6:abc\n", header=header))


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    path = tmp_path / "Toy_TRAIN.ts"
    path.write_bytes(HEADER.encode() + b"1,2:3,4:a\n1,2:3,4:\xe9\n")
    with pytest.raises(ValueError, match=r"Toy_TRAIN.ts:8: not UTF-8 text \(byte \d+ is b'\\xe9'\)"):
        read_ts(path)


def test_a_file_without_data_section_is_refused(tmp_path):
    path = tmp_path / "x.ts"
    path.write_text("@problemName X\n")
    with pytest.raises(ValueError, match=r"no '@data' line"):
        read_ts(path)
    path.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"x.ts:1: expected a '@' header line"):
        read_ts(path)
