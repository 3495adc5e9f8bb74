import gzip
from collections import Counter

import numpy as np
import pytest

from seqnet.data.sources import DigitsSource, MNISTRowsSource


def test_mnist_loads_as_rows_with_a_stratified_held_out_test_split():
    splits = MNISTRowsSource().load()
    assert (len(splits.train), len(splits.test)) == (4000, 1000)
    assert Counter(e.target for e in splits.test) == {str(d): 100 for d in range(10)}
    image = splits.train[0].values
    assert image.shape == (28, 28) and image.dtype == np.float32 and 0.0 <= image.min() <= image.max() <= 1.0
    again = MNISTRowsSource().load()
    assert np.array_equal(again.test[5].values, splits.test[5].values)


def test_sklearn_digits_load_as_eight_rows_of_eight_pixels():
    splits = DigitsSource().load()
    assert (len(splits.train), len(splits.test)) == (1438, 359)
    image = splits.train[0].values
    assert image.shape == (8, 8) and 0.0 <= image.min() <= image.max() <= 1.0
    assert image.max() > 0.5


@pytest.mark.parametrize(("source", "columns"), [(MNISTRowsSource, 785), (DigitsSource, 65)])
def test_a_file_of_the_wrong_shape_is_refused(tmp_path, source, columns):
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=f"expected {columns} columns"):
        source(path=path).load()
    with pytest.raises(ValueError, match="test_fraction must be in"):
        source(test_fraction=0.0)
