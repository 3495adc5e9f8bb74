"""First names, read character by character: gender-guesser's `nam_dict.txt` (Jörg Michael).

48,528 names, each with a gender code and its frequency in 55 countries or regions. `+` in the
file joins the parts of a compound name and becomes a hyphen. The data is under the GNU FDL and
the package GPL-3, so it sits in the optional `data-gpl` extra: `pip install "seqnet[data-gpl]"`.

`label="gender"`: names coded male or female (including "mostly" male/female; unisex and unknown
ones dropped). `label="country"`: every name with the country where it is most frequent (the
first such column on a tie), as in the classic "names by language" character-RNN exercise.

Two task shapes from the same names:
- `task="classify"` (many-to-one): the characters of a name -> its label.
- `task="generate"` (one-to-many): the label conditions a name; inputs are `<bos>` + characters,
  targets the characters + `<eos>` (teacher forcing), as a conditional character model needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, teacher_forcing_example, token_fields
from seqnet.data.sources.packaged import existing, packaged_file
from seqnet.data.splits import split_by_key
from seqnet.data.tokenizers import CharTokenizer
from seqnet.data.vocab import Vocabulary
from seqnet.errors import InputError

GENDER_CODES = {"M": "male", "1M": "male", "?M": "male", "F": "female", "1F": "female", "?F": "female"}
GENDERS = ["female", "male"]
# The frequency columns of nam_dict.txt (from column 31 on), in file order.
COUNTRIES = [
    "great_britain",
    "ireland",
    "usa",
    "italy",
    "malta",
    "portugal",
    "spain",
    "france",
    "belgium",
    "luxembourg",
    "the_netherlands",
    "east_frisia",
    "germany",
    "austria",
    "swiss",
    "iceland",
    "denmark",
    "norway",
    "sweden",
    "finland",
    "estonia",
    "latvia",
    "lithuania",
    "poland",
    "czech_republic",
    "slovakia",
    "hungary",
    "romania",
    "bulgaria",
    "bosnia_herzegovina",
    "croatia",
    "kosovo",
    "macedonia",
    "montenegro",
    "serbia",
    "slovenia",
    "albania",
    "greece",
    "russia",
    "belarus",
    "moldova",
    "ukraine",
    "armenia",
    "azerbaijan",
    "georgia",
    "kazakhstan_uzbekistan",
    "turkey",
    "arabia",
    "israel",
    "china",
    "india",
    "japan",
    "korea",
    "vietnam",
    "other_countries",
]
TASKS = ("classify", "generate")
LABELS = ("gender", "country")


class NamesSource:
    """Names and their gender or country, split once with a seed (each name in one split only).

    Args:
        task: "classify" or "generate" (see module doc).
        label: "gender" or "country": the class (classify) or the condition (generate).
        path: a `nam_dict.txt` file; None reads the one in the installed gender-guesser package.
        lowercase: lower-case the names.
        test_fraction / seed: the share of distinct names held out for testing (a name coded
            both male and female lands in one split with both codes).
    """

    def __init__(
        self,
        task: str = "classify",
        label: str = "gender",
        path: str | Path | None = None,
        lowercase: bool = False,
        test_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        if task not in TASKS:
            raise InputError(f"task must be one of {TASKS}, got {task!r}")
        if label not in LABELS:
            raise InputError(f"label must be one of {LABELS}, got {label!r}")
        self.task = task
        self.label = label
        self.path = Path(path) if path else None
        self.lowercase = lowercase
        self.test_fraction = test_fraction
        self.seed = seed

    def load(self) -> SequenceSplits:
        path = self.path or packaged_file("gender_guesser", "data/nam_dict.txt", "the names data set")
        records = read_names(path, self.lowercase)
        labelled = {
            (name, gender if self.label == "gender" else country) for name, gender, country in records
        }
        pairs = sorted((name, label) for name, label in labelled if label)
        names = GENDERS if self.label == "gender" else COUNTRIES
        parts = split_by_key(pairs, lambda pair: pair[0], self.test_fraction, 0.0, self.seed)
        vocab = Vocabulary.build([list(name) for name, _ in parts["train"]])
        tokenizer = CharTokenizer(self.lowercase).to_dict()
        if self.task == "classify":
            examples = {
                split: [
                    SequenceExample(np.array(vocab.encode(list(n)), dtype=np.int64), label)
                    for n, label in part
                ]
                for split, part in parts.items()
            }
            return SequenceSplits.from_parts(
                f"names_{self.label}", examples, class_names=names, tokenizer=tokenizer, **token_fields(vocab)
            )
        examples = {
            split: [teacher_forcing_example(vocab, list(n), condition=label) for n, label in part]
            for split, part in parts.items()
        }
        return SequenceSplits.from_parts(
            f"names_generate_{self.label}",
            examples,
            condition_kind="classes",
            condition_names=names,
            tokenizer=tokenizer,
            target_tokenizer=tokenizer,
            **token_fields(vocab, targets=True),
        )


def read_names(path: Path, lowercase: bool = False) -> list[tuple[str, str | None, str]]:
    """(name, gender or None, main country) of each data line of a `nam_dict.txt` (UTF-8).

    A data line holds the gender code in columns 1-2, the name in columns 4-29 and one frequency
    digit (hexadecimal, blank for none) per country from column 31.
    """
    records = []
    with existing(path, "the names file").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            if len(line) < 30:
                raise InputError(f"{path}:{number}: expected a gender code, then a name in columns 4-29")
            name = line[3:29].strip().replace("+", "-")
            if not name:
                continue
            columns = line[30 : 30 + len(COUNTRIES)].ljust(len(COUNTRIES))
            frequencies = [int(c, 16) if c.strip() else 0 for c in columns]
            country = COUNTRIES[frequencies.index(max(frequencies))]
            records.append((name.lower() if lowercase else name, GENDER_CODES.get(line[:2].strip()), country))
    if not records:
        raise InputError(f"{path} holds no names")
    return records
