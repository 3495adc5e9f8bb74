"""Most-frequent-tag-per-word baseline of a tagging data config: the floor a tagger must beat.

    python scripts/baselines_tagging.py sblgnt_pos

prints it; `--out-dir benchmarks` writes benchmarks/baselines_<data>.json. Each test word gets the
tag it carries most often in the
training part the DataModule uses (validation held out); words unseen in training (`<unk>`) get
the most frequent tag overall. Token accuracy over the test split, as `test/acc` of a model.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from seqnet.cli.config_dir import CONFIG_DIR


def most_frequent_tag_accuracy(data: str) -> dict[str, float | str | int]:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=[f"data={data}"])
    datamodule = instantiate(cfg.data)
    datamodule.setup()
    by_word: dict[int, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for words, tags, *_ in datamodule.datasets["train"]:
        for word, tag in zip(words.tolist(), tags.tolist(), strict=True):
            by_word[word][tag] += 1
            overall[tag] += 1
    fallback = overall.most_common(1)[0][0]
    correct = total = unknown = 0
    for words, tags, *_ in datamodule.datasets["test"]:
        for word, tag in zip(words.tolist(), tags.tolist(), strict=True):
            guess = by_word[word].most_common(1)[0][0] if word in by_word else fallback
            correct += guess == tag
            unknown += word not in by_word
            total += 1
    return {
        "data": data,
        "test_tokens": total,
        "unseen_test_tokens": unknown,
        "most_frequent_tag_accuracy": correct / total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", nargs="+", help="tagging data configs, e.g. sblgnt_pos")
    parser.add_argument("--out-dir", default=None, help="a folder to write baselines_<data>.json into")
    args = parser.parse_args()
    for data in args.data:
        result = most_frequent_tag_accuracy(data)
        if args.out_dir:
            (Path(args.out_dir) / f"baselines_{data}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
