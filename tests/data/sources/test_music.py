import pytest

from seqnet.data.sources import MusicSource
from seqnet.data.sources.music import melody_events, tonic_shift, transposed, write_midi
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
