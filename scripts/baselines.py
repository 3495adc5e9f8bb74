"""Trivial baselines for a UCR/UEA data set: majority class, 1-NN Euclidean, 1-NN DTW.

    python scripts/baselines.py JapaneseVowels          # prints the baselines
    python scripts/baselines.py JapaneseVowels --out benchmarks   # and writes it there
    python scripts/baselines.py GunPoint --normalize series --out benchmarks/ucr

Euclidean distance compares sequences zero-padded to the longest one (as the UEA archive's
equal-length version does); DTW is the dependent multivariate form with no window. Features are
standardised with training statistics (`--normalize dataset`, as the default experiment's models
see them), each case z-normalised on its own (`--normalize series`, the archive's convention) or
series for univariate sets and dataset for multivariate ones (`--normalize auto`, as
`experiment=ucr` sees them). `--no-dtw` skips DTW, which is slow on long series.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from seqnet.data.sources import UCRSource


def dtw_to_many(query: np.ndarray, references: list[np.ndarray]) -> np.ndarray:
    """DTW distance from query (T, C) to every reference (T_j, C), vectorised over references."""
    longest = max(len(r) for r in references)
    padded = np.zeros((len(references), longest, query.shape[1]))
    for j, r in enumerate(references):
        padded[j, : len(r)] = r
    lengths = np.array([len(r) for r in references])
    cost = ((query[None, :, None, :] - padded[:, None, :, :]) ** 2).sum(-1)  # (N, T, T_j)
    acc = np.full((len(references), len(query) + 1, longest + 1), np.inf)
    acc[:, 0, 0] = 0.0
    for i in range(1, len(query) + 1):
        for j in range(1, longest + 1):
            best = np.minimum(np.minimum(acc[:, i - 1, j], acc[:, i, j - 1]), acc[:, i - 1, j - 1])
            acc[:, i, j] = cost[:, i - 1, j - 1] + best
    return acc[np.arange(len(references)), len(query), lengths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="JapaneseVowels")
    parser.add_argument("--out", default=None, help="a folder to write baselines_<name>.json into")
    parser.add_argument("--normalize", choices=("dataset", "series", "auto"), default="dataset")
    parser.add_argument("--no-dtw", action="store_true")
    args = parser.parse_args()

    splits = UCRSource(args.name, normalize=args.normalize).load()
    train_x = [e.values for e in splits.train]
    test_x = [e.values for e in splits.test]
    train_y = np.array([e.target for e in splits.train])
    test_y = np.array([e.target for e in splits.test])
    stacked = np.concatenate(train_x)
    mean, std = stacked.mean(0), stacked.std(0) + 1e-8
    train_x = [(x - mean) / std for x in train_x]
    test_x = [(x - mean) / std for x in test_x]

    majority = Counter(train_y.tolist()).most_common(1)[0][0]
    longest = max(len(x) for x in train_x + test_x)

    def pad(xs: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(xs), longest, xs[0].shape[1]))
        for i, x in enumerate(xs):
            out[i, : len(x)] = x
        return out.reshape(len(xs), -1)

    train_flat, test_flat = pad(train_x), pad(test_x)
    euclid = ((test_flat[:, None, :] - train_flat[None, :, :]) ** 2).sum(-1)  # (N_test, N_train)
    results = {
        "dataset": args.name,
        "normalize": args.normalize,
        "test_size": len(test_y),
        "majority_class_acc": float(np.mean(test_y == majority)),
        "nn1_euclidean_acc": float(np.mean(train_y[euclid.argmin(1)] == test_y)),
    }
    if not args.no_dtw:
        dtw_pred = [train_y[np.argmin(dtw_to_many(x, train_x))] for x in test_x]
        results["nn1_dtw_acc"] = float(np.mean(np.array(dtw_pred) == test_y))
    if args.out:  # the committed figures change only when asked to
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"baselines_{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
