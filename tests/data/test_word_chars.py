import numpy as np

from seqnet.data.vocab import Vocabulary
from seqnet.data.word_chars import CASINGS, WORD_COLUMNS, casing, char_vocabulary, encode_words
from seqnet.nn import embedding


def test_casing_classes_as_reimers_and_gurevych_define_them():
    assert [CASINGS[casing(w)] for w in ["1998", "x86", "paris", "NASA", "Paris", "b4X", "--"]] == [
        "numeric", "mostly_numeric", "lower", "upper", "title", "has_digit", "other",
    ]  # fmt: skip


def test_the_layout_the_model_reads_matches_the_one_written():
    assert embedding.WORD_COLUMNS == WORD_COLUMNS
    assert len(CASINGS) == embedding.CASING_CLASSES


def test_a_word_unseen_in_training_keeps_its_casing_and_characters():
    words = Vocabulary.build([["the", "cat"]])
    chars = char_vocabulary([["The", "cat"]])
    rows = encode_words(["the", "tac", "cat"], words, chars, max_chars=2, forms=["The", "Tac", "cat"])
    assert rows.shape == (3, WORD_COLUMNS + 2) and rows.dtype == np.int64
    assert rows[1, 0] == words.unk_id  # an unknown word ...
    assert CASINGS[rows[1, 1]] == "title"  # ... with its casing
    assert chars.decode(rows[1, 2:].tolist()) == ["T", "a"]  # ... and its first max_chars characters
    assert chars.decode(rows[2, 2:].tolist()) == ["c", "a"]
    assert encode_words(["x"], words, chars, max_chars=3)[0, 2:].tolist() == [chars.unk_id, 0, 0]
