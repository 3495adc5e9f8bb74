import os
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from seqnet.data.sources import MusicSource, music
from seqnet.data.sources.music import key_name, melody_events, tonic_shift, transposed, write_midi
from seqnet.data.vocab import BOS, EOS

CHORALES = ["bwv66.6.mxl", "bwv1.6.mxl", "bwv10.7.mxl", "bwv101.7.mxl", "bwv102.7.mxl"]


def test_bach_melodies_are_event_tokens_conditioned_on_mode():
    source = MusicSource("bach", files=CHORALES)
    bwv66 = source.pieces()[0]
    assert bwv66["condition"] == "minor"  # F-sharp minor
    assert len(bwv66["events"]) == 37 and bwv66["events"][:3] == ["73:0.5", "71:0.5", "69:1"]
    splits = source.load()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3, 1, 1)
    assert splits.condition_kind == "classes"
    assert {p.condition for p in splits.train + splits.val + splits.test} <= {"major", "minor"}
    example, vocab = splits.train[0], splits.vocab
    assert vocab[example.values[0]] == BOS and vocab[example.target[-1]] == EOS
    assert example.values[1:].tolist() == example.target[:-1].tolist()


def test_essen_songs_are_conditioned_on_their_collection():
    splits = MusicSource("essen", files=["erk5.abc"]).load()
    pieces = splits.train + splits.val + splits.test
    assert len(pieces) == 27 and {p.condition for p in pieces} == {"erk"}


def test_unknown_collections_and_files_are_refused():
    with pytest.raises(ValueError, match=r"collection must be one of \['bach', 'essen'\]"):
        MusicSource("mozart")
    with pytest.raises(FileNotFoundError, match=r"no \['bwv9999.mxl'\]"):
        MusicSource("bach", files=["bwv9999.mxl"]).load()


def test_tonic_to_c_moves_every_piece_by_at_most_a_tritone_to_a_tonic_of_c():
    source = MusicSource("bach", files=CHORALES, tonic_to_c=True)
    pieces = source.pieces()
    assert pieces[0]["tonic"] == 6  # bwv66.6 is in F-sharp minor: up a tritone to C minor
    expected = {tuple(transposed(p["events"], -tonic_shift(p["tonic"]))) for p in pieces}
    assert ("79:0.5", "77:0.5", "75:1") in {melody[:3] for melody in expected}
    splits = source.load()
    trained = {tuple(splits.vocab[i] for i in e.target[:-1]) for e in splits.train}  # no <unk> there
    assert len(trained) == 3 and trained <= expected
    assert [tonic_shift(pc) for pc in (0, 5, 6, 11)] == [0, 5, -6, -1]
    assert transposed(["60:1", "rest:0.5", "71:2"], -2) == ["58:1", "rest:0.5", "69:2"]


def test_a_generated_melody_is_written_as_midi_that_reads_back_as_the_same_events(tmp_path):
    music21 = pytest.importorskip("music21")
    events = ["67:1", "<unk>", "rest:0.5", "69:0.5", "71:2", "bogus"]
    path = write_midi(events, tmp_path / "samples" / "minor_0.mid")
    melody = music21.converter.parse(path)
    assert melody_events(melody) == ["67:1", "rest:0.5", "69:0.5", "71:2"]


def test_a_key_condition_names_the_tonic_and_mode_and_moves_with_training_transpositions():
    pieces = MusicSource("bach", files=CHORALES).pieces()
    assert key_name(pieces[0]["tonic"], pieces[0]["condition"]) == "F_sharp_minor"  # bwv66.6
    splits = MusicSource("bach", files=CHORALES, condition="key", transpose_train=True).load()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (36, 1, 1)  # 3 pieces x 12 keys
    held_out = {p.condition for p in splits.val + splits.test}
    assert held_out <= {key_name(p["tonic"], p["condition"]) for p in pieces}
    vocab = splits.vocab
    first_notes = {}  # key -> first event of each training melody in that key
    for example in splits.train:
        first_notes.setdefault(example.condition, []).append(vocab[example.target[0]])
    assert len(first_notes) >= 12 and all(len(notes) <= 3 for notes in first_notes.values())
    by_piece = [splits.train[k : k + 12] for k in range(0, 36, 12)]
    for copies in by_piece:  # one piece from 5 semitones down to 6 up, its key renamed each time
        pitches = [int(vocab[c.target[0]].split(":")[0]) for c in copies]
        assert pitches == list(range(pitches[0], pitches[0] + 12))
        assert len({c.condition for c in copies}) == 12


def test_conditions_and_transpositions_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match=r"bach melodies are conditioned on one of \['mode', 'key'\]"):
        MusicSource("bach", condition="collection")
    with pytest.raises(ValueError, match="condition=key with tonic_to_c=true leaves every key on C"):
        MusicSource("bach", condition="key", tonic_to_c=True)
    with pytest.raises(ValueError, match="transpose_train=true undoes tonic_to_c=true"):
        MusicSource("bach", transpose_train=True, tonic_to_c=True)


ESSEN_FILES = ["erk5.abc", "variant0.abc", "folkHaydn.abc"]  # smallest first: workers take the largest


def essen_paths(names: list[str]) -> list[Path]:
    music21 = pytest.importorskip("music21")
    return [Path(music21.__file__).parent / "corpus" / "essenFolksong" / name for name in names]


@pytest.mark.slow  # each worker process imports seqnet's data package (Lightning): seconds
def test_a_collection_parsed_by_worker_processes_gives_the_pieces_of_one_process_in_file_order(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    paths = essen_paths(ESSEN_FILES)
    pieces = music._read_in_parallel(paths, "essen")
    assert pieces == music._read_each(paths, "essen")
    assert list(dict.fromkeys(p["id"].split("#")[0] for p in pieces)) == ESSEN_FILES


def test_a_broken_worker_pool_falls_back_to_parsing_in_this_process(monkeypatch):
    class Broken:
        def __init__(self, *args, **kwargs):
            raise BrokenProcessPool("a worker died while importing the main script")

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(music, "ProcessPoolExecutor", Broken)
    paths = essen_paths(ESSEN_FILES[:2])
    assert music._read_in_parallel(paths, "essen") == music._read_each(paths, "essen")
