from collections import Counter

from seqnet.data.sources import FoodReviewsSource


def test_food_reviews_keep_their_official_split_and_two_labels():
    splits = FoodReviewsSource().load()
    assert (len(splits.train), len(splits.test)) == (4000, 1000)
    assert Counter(e.target for e in splits.train) == {"great": 2600, "other": 1400}
    assert splits.class_names == ["great", "other"] and splits.input_kind == "tokens"
    words = [splits.vocab[i] for i in splits.train[0].values]
    assert words[:4] == ["this", "stuff", "is", "not"]
