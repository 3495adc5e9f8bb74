"""Melodies from the music21 corpus as event tokens, conditioned on key, mode or collection
(one-to-many).

- `collection="bach"`: the top voice of the 413 Bach pieces in `corpus/bach` (mostly four-part
  chorales), each conditioned on its key (`condition="key"`: tonic and mode, e.g. `F_sharp_minor`)
  or only its mode (`condition="mode"`: major / minor), from the key written in the score, else
  the key music21 finds.
- `collection="essen"`: the Essen folksong collection (about 8,500 monophonic melodies in ABC),
  each conditioned on the collection it comes from (e.g. `han` Chinese, `erk` and `boehme` German).

Each note becomes one token `pitch:duration` (MIDI pitch, duration in quarter notes; the top pitch
of a chord; `rest:duration` for rests), so a melody is a sequence over a vocabulary of a few
hundred events. `tonic_to_c=True` transposes each piece (by at most a tritone) so its tonic is C,
as melody models commonly do: a model then learns one key per mode instead of twelve;
`transpose_train=True` instead adds every training piece in its 11 other transpositions (-5..+6
semitones; a key condition moves with it), so a model sees each pattern in every key. Examples are
`<bos>` + events -> events + `<eos>` (teacher forcing), like `NamesSource(task="generate")`; pieces
never straddle two splits.

music21 parses the files, which is slow, so a whole collection is parsed once, one worker process
per CPU core (benchmarks/music_cache.json times it on a fresh machine), and its events are cached
as JSON under `$SEQNET_CACHE_DIR/music21/` (keyed by the music21 version); `files=[...]` reads
only the files named, without the cache. Needs the `music` extra:
`pip install "seqnet[music]"` (music21 is BSD-3; see DATA_LICENSES.md for the corpus terms).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path

from seqnet.data.download import cache_root
from seqnet.data.sources.base import SequenceSplits, teacher_forcing_example, token_fields
from seqnet.data.sources.packaged import INSTALL
from seqnet.data.splits import split_by_key
from seqnet.data.vocab import Vocabulary
from seqnet.errors import InputError

log = logging.getLogger(__name__)

COLLECTIONS = {"bach": ("bach", "*.mxl"), "essen": ("essenFolksong", "*.abc")}
CONDITIONS = {"bach": ("mode", "key"), "essen": ("collection",)}
# Tonic names by pitch class, spelled as keys of each mode usually are; `_sharp`/`_flat` rather
# than `#`, which a command-line override cannot hold (`condition=F_sharp_minor`).
TONICS = {
    "major": ["C", "D_flat", "D", "E_flat", "E", "F", "F_sharp", "G", "A_flat", "A", "B_flat", "B"],
    "minor": ["C", "C_sharp", "D", "E_flat", "E", "F", "F_sharp", "G", "G_sharp", "A", "B_flat", "B"],
}
CACHE_FORMAT = 2  # bump when a cached piece changes shape
Piece = dict  # {"id": str, "condition": str, "tonic": int (pitch class), "events": list[str]}


class MusicSource:
    """Melody generation from the music21 corpus (see module doc).

    Args:
        collection: "bach" or "essen".
        condition: what each melody is conditioned on; Bach: "mode" (major | minor) or "key"
            (tonic and mode, e.g. "F_sharp_minor"); Essen: "collection". None: the first of these.
        files: file names inside the collection's folder to read (None: all of them, cached).
        min_freq: events seen fewer times in training become `<unk>`.
        max_events: longer melodies are cut to their first `max_events` events.
        tonic_to_c: transpose every piece so its tonic (of the key written in it, else the key
            music21 finds) is C.
        transpose_train: add each training piece transposed by -5..+6 semitones (12x the
            training events; validation and test pieces stay as written).
        test_fraction / val_fraction / seed: share of pieces held out.
    """

    def __init__(
        self,
        collection: str = "bach",
        condition: str | None = None,
        files: list[str] | None = None,
        min_freq: int = 1,
        max_events: int | None = None,
        tonic_to_c: bool = False,
        transpose_train: bool = False,
        test_fraction: float = 0.1,
        val_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        if collection not in COLLECTIONS:
            raise InputError(f"collection must be one of {sorted(COLLECTIONS)}, got {collection!r}")
        known = CONDITIONS[collection]
        if condition is not None and condition not in known:
            raise InputError(
                f"{collection} melodies are conditioned on one of {list(known)}, got {condition!r}"
            )
        if condition == "key" and tonic_to_c:
            raise InputError("condition=key with tonic_to_c=true leaves every key on C; use condition=mode")
        if transpose_train and tonic_to_c:
            raise InputError("transpose_train=true undoes tonic_to_c=true; choose one of them")
        self.collection = collection
        self.condition = condition or known[0]
        self.files = list(files) if files else None
        self.min_freq = min_freq
        self.max_events = max_events
        self.tonic_to_c = tonic_to_c
        self.transpose_train = transpose_train
        self.fractions = (test_fraction, val_fraction)
        self.seed = seed

    def load(self) -> SequenceSplits:
        pieces = [p for p in self.pieces() if p["events"]]
        if self.tonic_to_c:
            pieces = [self._moved(p, -tonic_shift(p["tonic"])) for p in pieces]
        parts = split_by_key(pieces, lambda piece: piece["id"], *self.fractions, self.seed)
        if self.transpose_train:
            parts["train"] = [self._moved(p, shift) for p in parts["train"] for shift in range(-5, 7)]
        parts = {
            split: [{**p, "condition": self._condition(p)} for p in part] for split, part in parts.items()
        }
        vocab = Vocabulary.build([p["events"] for p in parts["train"]], self.min_freq)
        examples = {
            split: [
                teacher_forcing_example(vocab, p["events"][: self.max_events], p["condition"]) for p in part
            ]
            for split, part in parts.items()
        }
        return SequenceSplits.from_parts(
            f"music_{self.collection}",
            examples,
            condition_kind="classes",
            **token_fields(vocab, targets=True),
        )

    @staticmethod
    def _moved(piece: Piece, semitones: int) -> Piece:
        """The piece transposed by `semitones`, its tonic with it."""
        events = transposed(piece["events"], semitones) if semitones else piece["events"]
        return {**piece, "events": events, "tonic": (piece["tonic"] + semitones) % 12}

    def _condition(self, piece: Piece) -> str:
        """What the piece is conditioned on: its mode or collection as read, or its key."""
        return key_name(piece["tonic"], piece["condition"]) if self.condition == "key" else piece["condition"]

    def pieces(self) -> list[Piece]:
        """Every piece's id, condition and events, from the cache when the whole collection is read."""
        music21 = _import_music21()
        folder_name, pattern = COLLECTIONS[self.collection]
        folder = Path(music21.__file__).parent / "corpus" / folder_name
        if self.files is not None:
            missing = [f for f in self.files if not (folder / f).is_file()]
            if missing:
                raise FileNotFoundError(f"no {missing} in {folder}")
            return _read_each([folder / f for f in self.files], self.collection)
        cache = cache_root() / "music21" / f"{self.collection}-{music21.__version__}-v{CACHE_FORMAT}.json"
        if cache.is_file():
            return json.loads(cache.read_text())
        files = sorted(p for p in folder.glob(pattern) if not p.stem.startswith("test"))
        pieces = _read_in_parallel(files, self.collection)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".part")
        partial.write_text(json.dumps(pieces))
        partial.rename(cache)
        return pieces


def _import_music21():
    try:
        import music21
    except ImportError:
        raise ImportError(f"the music data sets need music21; run `{INSTALL['music21']}`") from None
    return music21


def _read_in_parallel(files: list[Path], collection: str) -> list[Piece]:
    """The pieces of every file, in the order of `files`, parsed by one process per CPU core
    (music21 parses in pure Python); the largest files go first, so the workers finish together.

    Workers are spawned, not forked (the caller may hold torch's threads). A spawned worker imports
    the caller's main script again; one without an `if __name__ == "__main__":` guard breaks the
    pool, and the files are then parsed here, one after another.
    """
    workers = min(len(files), os.cpu_count() or 1)
    if workers < 2:
        return _read_each(files, collection)
    largest_first = sorted(files, key=lambda path: path.stat().st_size, reverse=True)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            read = dict(zip(largest_first, pool.map(_read, largest_first, repeat(collection)), strict=True))
    except BrokenProcessPool:
        log.warning(
            "parsing the %s collection in worker processes failed (a script that loads it needs an "
            '`if __name__ == "__main__":` guard for them); parsing it in this process instead',
            collection,
        )
        return _read_each(files, collection)
    return [piece for path in files for piece in read[path]]


def _read_each(files: list[Path], collection: str) -> list[Piece]:
    """The pieces of every file, parsed in this process."""
    return [piece for path in files for piece in _read(path, collection)]


def _read(path: Path, collection: str) -> list[Piece]:
    """The pieces of one corpus file (an ABC file may hold hundreds). music21's own parse cache
    (pickles in the temp directory, whose writing slows a first parse) is skipped: seqnet caches
    the events of the whole collection instead."""
    music21 = _import_music21()
    parsed = music21.converter.parse(path, forceSource=True)  # no pickle
    scores = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    pieces = []
    for number, score in enumerate(scores):
        melody = score.parts[0] if score.parts else score
        key = _key(music21, score)
        condition = key.mode if collection == "bach" else re.sub(r"\d+$", "", path.stem)
        pieces.append(
            {
                "id": f"{path.name}#{number}",
                "condition": condition,
                "tonic": key.tonic.pitchClass,
                "events": melody_events(melody),
            }
        )
    return pieces


def _key(music21, score):
    """The key written in the score, else the key music21 finds by analysis (major or minor)."""
    written = score.recurse().getElementsByClass(music21.key.Key).first()
    if written is None or written.mode not in ("major", "minor"):
        written = score.analyze("key")
    return written


def key_name(tonic: int, mode: str) -> str:
    """A key as a condition name: tonic pitch class 6 and "minor" -> "F_sharp_minor"."""
    return f"{TONICS[mode][tonic]}_{mode}"


def tonic_shift(pitch_class: int) -> int:
    """The pitch class as a shift from C within a tritone: 0..5 up, or -6..-1 (F# is -6)."""
    return pitch_class - 12 if pitch_class >= 6 else pitch_class


def transposed(events: list[str], semitones: int) -> list[str]:
    """`pitch:duration` events moved by `semitones` (rests unchanged)."""
    moved = []
    for event in events:
        pitch, duration = event.split(":")
        moved.append(event if pitch == "rest" else f"{int(pitch) + semitones}:{duration}")
    return moved


def melody_events(melody) -> list[str]:
    """`pitch:duration` tokens of a part (the top pitch of a chord; `rest:duration` for rests)."""
    events = []
    for element in melody.flatten().notesAndRests:
        duration = f"{float(element.quarterLength):.4g}"
        if element.isRest:
            events.append(f"rest:{duration}")
        else:
            events.append(f"{max(p.midi for p in element.pitches)}:{duration}")
    return events


def write_midi(events: list[str], path: str | Path) -> Path:
    """Write `pitch:duration` events (the tokens of a generated melody) as a MIDI file; tokens of
    another form (`<unk>`) are skipped. Needs music21. Returns the path."""
    music21 = _import_music21()
    melody = music21.stream.Stream()
    for event in events:
        pitch, _, duration = event.partition(":")
        try:
            length = float(duration)
            note = music21.note.Rest() if pitch == "rest" else music21.note.Note(midi=int(pitch))
        except ValueError:
            continue
        note.quarterLength = length
        melody.append(note)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    melody.write("midi", fp=str(path))
    return path
