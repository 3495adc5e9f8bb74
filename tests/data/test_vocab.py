import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqnet.data import CharTokenizer, Vocabulary, WordTokenizer
from seqnet.data.tokenizers import build_tokenizer


def test_build_orders_by_frequency_with_specials_first():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"]])
    assert vocab.to_list() == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a", "c"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)


def test_min_freq_and_max_size_limit_the_vocabulary():
    data = [["a"] * 5 + ["b"] * 3 + ["c"]]
    assert "c" not in Vocabulary.build(data, min_freq=2)
    assert Vocabulary.build(data, max_size=5).to_list()[4:] == ["a"]


def test_unknown_tokens_map_to_unk_and_never_crash():
    vocab = Vocabulary.build([["a", "b"]])
    assert vocab.encode(["a", "zzz"], add_bos=True, add_eos=True) == [2, 4, 1, 3]
    assert vocab.decode([2, 4, 1, 3, 0]) == ["a", "<unk>"]


@given(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=30))
def test_known_tokens_round_trip(tokens):
    vocab = Vocabulary.build([tokens])
    known = [t for t in tokens if t in vocab and t not in {"<pad>", "<bos>", "<eos>"}]
    assert vocab.decode(vocab.encode(known)) == known


def test_save_and_load_round_trip(tmp_path):
    vocab = Vocabulary.build([list("hello wörld")])
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json").to_list() == vocab.to_list()
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(ValueError, match=r"bad\.json is not a saved seqnet vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")


def test_malformed_vocabularies_are_refused():
    with pytest.raises(ValueError, match="needs the special tokens"):
        Vocabulary(["a", "b"])
    with pytest.raises(ValueError, match="token 'a' appears twice"):
        Vocabulary(["<pad>", "<unk>", "<bos>", "<eos>", "a", "a"])
    with pytest.raises(ValueError, match="max_size must exceed"):
        Vocabulary.build([["a"]], max_size=4)


@given(st.text(max_size=50))
def test_char_tokenizer_round_trips(text):
    tokenizer = CharTokenizer()
    assert tokenizer.detokenize(tokenizer.tokenize(text)) == text


def test_word_tokenizer_splits_words_and_punctuation():
    tokens = WordTokenizer().tokenize("The soup wasn't great, really!")
    assert tokens == ["the", "soup", "wasn't", "great", ",", "really", "!"]
    assert WordTokenizer().tokenize(WordTokenizer().detokenize(tokens)) == tokens


def test_word_tokenizer_reads_each_chinese_character_as_a_word_and_writes_them_back_unspaced():
    tokenizer = WordTokenizer().fit(["我很喜欢这本书，真的。"])
    tokens = tokenizer.tokenize("这本书很好，iPhone也好。")
    assert tokens == ["这", "本", "书", "很", "好", "，", "iphone", "也", "好", "。"]
    assert tokenizer.detokenize(tokens) == "这本书很好，iphone 也好。"
    assert WordTokenizer().tokenize("naïve café's") == ["naïve", "café's"]  # other scripts as before


def test_tokenizers_are_built_by_name():
    assert build_tokenizer("char", lowercase=True).tokenize("Ab") == ["a", "b"]
    assert build_tokenizer("word", lowercase=False).tokenize("Hi, you") == ["Hi", ",", "you"]
    with pytest.raises(
        ValueError, match=r"tokenizer must be one of \['char', 'whitespace', 'word'\], got 'bpe'"
    ):
        build_tokenizer("bpe", lowercase=False)


@pytest.mark.parametrize("tokenizer", [CharTokenizer(lowercase=True), WordTokenizer(lowercase=False)])
def test_tokenizer_settings_round_trip(tokenizer):
    again = build_tokenizer(**tokenizer.to_dict())
    assert type(again) is type(tokenizer) and again.lowercase == tokenizer.lowercase


def test_whitespace_tokenizer_keeps_tokens_as_written_and_round_trips_its_settings():
    tokenizer = build_tokenizer("whitespace", lowercase=True)
    assert tokenizer.tokenize("Ἐν  ἀρχῇ ἦν\tὁ") == ["ἐν", "ἀρχῇ", "ἦν", "ὁ"]
    assert build_tokenizer(**tokenizer.to_dict()).to_dict() == {"name": "whitespace", "lowercase": True}


def test_word_detokenizing_writes_punctuation_back_as_the_training_texts_did():
    tokenizer = WordTokenizer(lowercase=False).fit(["2021-03-03", "1999-12-31", "Hello, world!", "a - b (c)"])
    assert tokenizer.detokenize(["1956", "-", "09", "-", "15"]) == "1956-09-15"
    assert tokenizer.detokenize(tokenizer.tokenize("Well, (quite) so!")) == "Well, (quite) so!"
    unseen = WordTokenizer().detokenize(["yes", ";", "[", "no", "]", "<unk>", "."])
    assert unseen == "yes; [no] <unk>."  # English typography for marks training never showed
    assert build_tokenizer(**tokenizer.to_dict()).detokenize(["1956", "-", "09"]) == "1956-09"


def test_a_parallel_file_gives_its_checkpoint_the_spacing_of_its_targets(tmp_path):
    from seqnet.data import SequenceDataModule
    from seqnet.data.sources import ParallelTextSource

    (tmp_path / "dates.tsv").write_text("".join(f"march {d} 2021\t2021-03-{d:02d}\n" for d in range(1, 11)))
    datamodule = SequenceDataModule(ParallelTextSource(tmp_path / "dates.tsv"), batch_size=4)
    datamodule.setup("fit")
    spec = type(datamodule.spec).from_dict(datamodule.spec.to_dict())  # as a checkpoint holds it
    assert spec.target_text_tokenizer().detokenize(["1956", "-", "09", "-", "15"]) == "1956-09-15"
