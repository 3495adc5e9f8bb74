import pytest

from seqnet.data.sources import MusicSource
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
