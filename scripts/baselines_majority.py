"""Majority-class test accuracy of classification data configs: the floor a model must beat.

    python scripts/baselines_majority.py digits food_reviews names

prints them; `--out benchmarks/majority_baselines.json` writes them.

The majority class is counted on the training part the DataModule uses (validation held out),
exactly as a model would see it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from seqnet.cli.config_dir import CONFIG_DIR


def majority_accuracy(data: str) -> dict[str, float | str | int]:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=[f"data={data}"])
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    train = [int(y) for _, y, *_ in datamodule.datasets["train"]]
    test = [int(y) for _, y, *_ in datamodule.datasets["test"]]
    label, _ = Counter(train).most_common(1)[0]
    return {
        "data": data,
        "majority_class": datamodule.spec.class_names[label],
        "test_size": len(test),
        "majority_class_acc": sum(y == label for y in test) / len(test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", help="classification data configs")
    parser.add_argument(
        "--out", default=None, help="a JSON file to write, e.g. benchmarks/majority_baselines.json"
    )
    args = parser.parse_args()
    results = [majority_accuracy(data) for data in args.data]
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
