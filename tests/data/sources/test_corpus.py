import pytest

from seqnet.data.sources import ShakespeareSource, TextCorpusSource
from seqnet.data.sources.corpus import markdown_to_text, text_files


def test_shakespeare_is_split_by_play_into_next_character_chunks():
    splits = ShakespeareSource(seq_len=64).load()
    assert splits.target_kind == "tokens" and splits.aligned and splits.vocab == splits.target_vocab
    characters = sum(len(e.values) for e in splits.train + splits.val + splits.test)
    assert 4_800_000 < characters < 5_400_000
    for example in splits.train[:50]:
        assert len(example.values) <= 64
        assert example.values[1:].tolist() == example.target[:-1].tolist()  # targets: the next character
    text = "".join(splits.vocab[i] for e in splits.test for i in e.values)
    assert "The Tempest" in text and "HAMLET:" in text and "**" not in text
    assert "HAMLET:" not in "".join(splits.vocab[i] for e in splits.train[:2000] for i in e.values)


def test_held_out_plays_must_exist():
    with pytest.raises(ValueError, match=r"no play named \['hamlett'\]"):
        ShakespeareSource(test_plays=("hamlett",)).load()


def test_tiny_shakespeare_downloads_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQNET_CACHE_DIR", str(tmp_path / "cache"))
    served = tmp_path / "input.txt"
    served.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40)
    splits = ShakespeareSource(edition="tiny", seq_len=16, url=f"file://{served}").load()
    assert (tmp_path / "cache" / "tinyshakespeare" / "input.txt").read_text() == served.read_text()
    served.unlink()  # a second load reads the cache, not the URL
    again = ShakespeareSource(edition="tiny", seq_len=16, url=f"file://{served}").load()
    assert len(again.train) == len(splits.train) > 0 and splits.val and splits.test


def test_your_own_corpus_from_folders_and_files(tmp_path):
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "a.txt").write_text("the cat sat on the mat\n")
    (tmp_path / "books" / "b.txt").write_text("the dog sat\n")
    (tmp_path / "test.txt").write_text("the cow sat\n")
    splits = TextCorpusSource(
        [str(tmp_path / "books")], [str(tmp_path / "test.txt")], tokenizer="word", seq_len=3
    ).load()
    assert splits.vocab[4] == "the" and "cow" not in splits.vocab
    assert len(splits.train) == 3  # 6 words -> 2 chunks, 3 words -> 1 chunk; never across documents
    with pytest.raises(FileNotFoundError, match="does not exist"):
        text_files([str(tmp_path / "missing.txt")])
    (tmp_path / "bad.txt").write_bytes(b"ok \xff")
    with pytest.raises(
        ValueError, match=r"bad.txt:1: not UTF-8 text \(byte 3 is b'\\xff'\); save the file as UTF-8"
    ):
        TextCorpusSource([str(tmp_path / "bad.txt")], [str(tmp_path / "test.txt")]).load()


def test_markdown_plays_become_plain_text():
    markdown = (
        "# Play\n\n## ACT I\n\n_Enter ROMEO_\n\n**ROMEO**  \nBut soft\\!  \n\n\n\n**JULIET**  \nAy me.\n"
    )
    assert (
        markdown_to_text(markdown) == "Play\n\nACT I\n\nEnter ROMEO\n\nROMEO:\nBut soft!\n\nJULIET:\nAy me.\n"
    )
